#!/usr/bin/env bash
# The SMTP content filter against a gpg-per-message pipeline, side by side in one run (issue #7, item 7).
#
#   benches/smtp_vs_gpg.sh [BASELINE_MSGS] [SEALPOST_MSGS] [CLIENTS] [SIZE]
#   benches/smtp_vs_gpg.sh                      # 2500 / 30000 messages, 20 clients, 36 KiB bodies (~4 minutes)
#   KEEP=1 benches/smtp_vs_gpg.sh 200 2000      # a quick look; the work directory is kept
#   BENCH_EXTRA_WORKERS="2 3" benches/smtp_vs_gpg.sh   # also sealpost on 2 cores with workers = 2 and 3
#
# The pipelines, each between the same load generator and the same sink (examples/smtp_load.rs), with the
# same RSA-3072 keys (made by gpg: the sender alice@example.org signs, bob@example.net's certificate is the
# recipient), every message signed and encrypted as PGP/MIME:
#   (-) no filter: the load generator straight to the sink, for reference (what the harness itself costs);
#   (a) baseline: benches/zeyple_like.py, which runs gpg once per message as Zeyple and gpgit do (its
#       docstring says how it is set up and where it is kinder than the real tools);
#   (b) sealpost filter smtp, default workers (twice the cores it may use: 2), pinned to core 0 with taskset;
#       load generator and sink on core 1;
#   (c) sealpost filter smtp, default workers (4 here), nothing pinned.
# For each: a warm-up (not counted), the measured run with CLIENTS connections (messages/s, and latency from
# MAIL to the 250 after the end of data, which each filter gives only once the sink accepted: under full
# load that is mostly queueing), then a run with one client (the latency the pipeline itself adds). Every
# run is checked: every message accepted, the sink got each one exactly once and every one of them
# encrypted, and the first two it got decrypt with bob's key (gpg) to a good signature by alice's key and
# the original body.
#
# Honestly, about the machine: it has 2 cores, and the load generator and the sink run on them too. In (a)
# and (c) they compete with the filter (the "load+sink" column says how much CPU they took); in (b) they
# have core 1 to themselves, so (b) measures one whole core of filter, and (c)/(b) is the scaling from 1 to
# 2 cores *including* that competition. Anything else running (a build) disturbs the figures: the script
# waits up to 2 minutes for the machine to be quiet before each pipeline, and the "other" column shows
# CPU taken by anything but the filter, the load generator and the sink during the run.
#
# Needs: gpg, /usr/bin/python3 with aiosmtpd (python3-aiosmtpd), taskset, /usr/bin/time, a release build.
# Ports: $BENCH_FILTER_PORT (default 21025) and $BENCH_SINK_PORT (21026) on 127.0.0.1.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
cd "$bench_dir/.."
baseline_msgs=${1:-2500}
sealpost_msgs=${2:-30000}
clients=${3:-20}
size=${4:-36864}
filter_port=${BENCH_FILTER_PORT:-21025}
sink_port=${BENCH_SINK_PORT:-21026}
max_seconds=${BENCH_MAX_SECONDS:-120} # no run starts messages after this long
py=/usr/bin/python3

"$py" -c 'import aiosmtpd' 2>/dev/null || { echo "needs $py with aiosmtpd (apt-get install python3-aiosmtpd)" >&2; exit 2; }
for tool in gpg taskset /usr/bin/time; do
  command -v "$tool" > /dev/null || { echo "needs $tool" >&2; exit 2; }
done
cargo build --release --quiet --example smtp_load
cargo build --release --quiet
target_dir=$(cargo metadata --no-deps --format-version 1 | "$py" -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
load=$target_dir/release/examples/smtp_load
sealpost=$target_dir/release/sealpost

work=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-smtp-bench.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for h in "$work"/gen "$work"/base "$work"/bob; do
    [ -d "$h" ] && gpgconf --homedir "$h" --kill gpg-agent 2>/dev/null || true
  done
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

for port in "$filter_port" "$sink_port"; do
  if (exec 3<> "/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "127.0.0.1:$port is in use (set BENCH_FILTER_PORT / BENCH_SINK_PORT)" >&2
    exit 2
  fi
done

# ---- Keys: made once by gpg, the same for both pipelines.
mkdir -m 700 "$work"/gen "$work"/base "$work"/bob
export GNUPGHOME=$work/gen
for uid in 'Alice <alice@example.org>' 'Bob <bob@example.net>'; do
  gpg --batch --passphrase '' --quick-gen-key "$uid" rsa3072 sign,cert never 2>/dev/null
  fpr=$(gpg --with-colons --list-keys "$uid" | awk -F: '/^fpr/ {print $10; exit}')
  gpg --batch --passphrase '' --quick-add-key "$fpr" rsa3072 encr never 2>/dev/null
done
alice_fpr=$(gpg --with-colons --list-keys alice@example.org | awk -F: '/^fpr/ {print $10; exit}')
gpg --export alice@example.org > "$work"/alice.cert
gpg --export bob@example.net > "$work"/bob.cert
(umask 077
  gpg --batch --export-secret-keys alice@example.org > "$work"/alice.key
  gpg --batch --export-secret-keys bob@example.net > "$work"/bob.key)
gpgconf --homedir "$work"/gen --kill gpg-agent
unset GNUPGHOME
# The baseline's GNUPGHOME: alice's secret key, bob's certificate. The checker's: bob's secret key, alice's certificate.
gpg --homedir "$work"/base --batch --import "$work"/alice.key "$work"/bob.cert 2>/dev/null
gpg --homedir "$work"/bob --batch --import "$work"/bob.key "$work"/alice.cert 2>/dev/null
"$sealpost" --keystore "$work"/ks key import "$work"/alice.key "$work"/bob.cert > /dev/null

# Decrypts and verifies kept messages: PGP/MIME, bob's key decrypts, a good signature by alice's key (signed
# and encrypted at once, RFC 3156 6.2, or multipart/signed inside, 6.1), and the body of SIZE bytes back.
cat > "$work"/check.py <<'EOF'
import email, os, subprocess, sys
home, fpr, size = sys.argv[1], sys.argv[2].upper(), int(sys.argv[3])
def gpg(*args, data=b""):
    r = subprocess.run(["gpg", "--homedir", home, "--batch", "--status-fd", "2", *args], input=data, capture_output=True)
    return r.returncode, r.stdout, r.stderr.decode("latin-1")
def good_sig(status):
    return any(l.startswith("[GNUPG:] VALIDSIG ") and l.split()[-1].upper() == fpr for l in status.splitlines())
bad = 0
for path in [p for p in sys.argv[4:] if os.path.exists(p)]:
    raw = open(path, "rb").read()
    m = email.message_from_bytes(raw)
    why = None
    if m.get_content_type() != "multipart/encrypted" or len(m.get_payload()) != 2:
        why = f"not PGP/MIME encrypted: {m.get_content_type()}"
    else:
        rc, inner, status = gpg("--decrypt", data=m.get_payload()[1].get_payload(decode=True))
        signed = good_sig(status)
        if rc != 0 or "DECRYPTION_OKAY" not in status:
            why = "does not decrypt: " + " | ".join(l for l in status.splitlines() if "GNUPG" in l)[:400]
        else:
            entity = inner
            if not signed:  # RFC 3156 6.1: multipart/signed inside the encryption
                im = email.message_from_bytes(inner)
                b = im.get_param("boundary")
                if im.get_content_type() == "multipart/signed" and b:
                    parts = inner.split(b"\r\n--" + b.encode())
                    first = parts[0].split(b"--" + b.encode() + b"\r\n", 1)[-1]
                    sig = email.message_from_bytes(parts[1].split(b"\r\n", 1)[1]).get_payload(decode=True)
                    open(path + ".sig", "wb").write(sig)
                    open(path + ".data", "wb").write(first)
                    rc, _, status = gpg("--verify", path + ".sig", path + ".data")
                    signed = rc == 0 and good_sig(status)
                    entity = first
            head, _, body = entity.partition(b"\r\n\r\n")
            if not signed:
                why = "no good signature by " + fpr
            elif len(body) != size:
                why = f"decrypted body is {len(body)} bytes, not {size} (inner header: {head[:300]!r})"
    print(f"  check {os.path.basename(path)}: " + ("ok: decrypts, good signature by alice, body intact" if why is None else "FAILED: " + why))
    bad += why is not None
sys.exit(1 if bad or not any(os.path.exists(p) for p in sys.argv[4:]) else 0)
EOF

# ---- Measuring helpers.
ncores=$(nproc)
tck=$(getconf CLK_TCK)
cpu_now() { awk '/^cpu / {print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6}' /proc/stat; } # all, idle+iowait (ticks)
proc_ticks() { # utime, stime and those of reaped children
  if [ -n "$1" ] && [ -r "/proc/$1/stat" ]; then awk '{print $14+$15+$16+$17}' "/proc/$1/stat"; else echo 0; fi
}
ticks_of() { local t=0 p; for p in "$@"; do t=$((t + $(proc_ticks "$p"))); done; echo "$t"; }
busy_pct() { # percent of one core busy over $1 seconds
  local a b
  read -r -a a <<< "$(cpu_now)"; sleep "$1"; read -r -a b <<< "$(cpu_now)"
  awk -v t=$((b[0] - a[0])) -v i=$((b[1] - a[1])) -v n="$ncores" 'BEGIN {printf "%d", (t > 0 ? (t - i) * 100 * n / t : 0)}'
}
wait_quiet() {
  local b
  for _ in $(seq 60); do
    b=$(busy_pct 2)
    [ "$b" -lt 15 ] && return 0
  done
  echo "  WARNING: the machine was busy (${b}% of a core) before this pipeline: its figures are disturbed"
}
wait_port() {
  for _ in $(seq 300); do
    (exec 3<> "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
stop() { # pid: TERM, then KILL after 15 s
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 150); do kill -0 "$1" 2>/dev/null || { wait "$1" 2>/dev/null || true; return 0; }; sleep 0.1; done
  echo "  $1 did not stop on SIGTERM: killed"
  kill -9 "$1" 2>/dev/null || true
}

results=$work/results.tsv
: > "$results"
failed=0

# The gpg-agent serving GNUPGHOME $1 (started by the first gpg), if any.
agent_pid() {
  local f
  for f in /proc/[0-9]*/cmdline; do
    if tr '\0' ' ' < "$f" 2>/dev/null | grep -q "^gpg-agent .*--homedir $1 "; then
      f=${f#/proc/}; echo "${f%/cmdline}"; return
    fi
  done
}

# measure NAME MSGS LOAD_CPUS TARGET_PORT FILTER_PID SINK_PID AGENT_HOME: a warm-up (not counted), the measured
# run with $clients clients, then the latency run with one client (no queueing: what the filter itself adds).
measure() {
  local name=$1 msgs=$2 cpus=$3 port=$4 fpid=$5 spid=$6 home=$7
  local pin=() run=()
  [ -n "$cpus" ] && pin=(taskset -c "$cpus")
  run=("${pin[@]}" "$load" load --to "127.0.0.1:$port" --size "$size" --json)
  "${run[@]}" --clients "$clients" --messages $((clients * 5)) --first-seq 1000001 > "$work/$name.warm.json" || true
  local c0 f0 s0 c1 f1 s1 apid=""
  [ -n "$home" ] && apid=$(agent_pid "$home")
  [ -n "$home" ] && [ -z "$apid" ] && echo "  (no gpg-agent found for $home: its CPU is not counted)"
  read -r -a c0 <<< "$(cpu_now)"; f0=$(ticks_of "$fpid" $apid); s0=$(proc_ticks "$spid")
  /usr/bin/time -f "%U %S" -o "$work/$name.time" "${run[@]}" --clients "$clients" --messages "$msgs" \
    --duration "$max_seconds" > "$work/$name.json" || true
  read -r -a c1 <<< "$(cpu_now)"; f1=$(ticks_of "$fpid" $apid); s1=$(proc_ticks "$spid")
  echo "$((c1[0] - c0[0])) $((c1[1] - c0[1])) $((f1 - f0)) $((s1 - s0))" > "$work/$name.cpu"
  "${run[@]}" --clients 1 --messages "$8" --first-seq 2000001 > "$work/$name.lat.json" || true
}

# pipeline NAME LABEL MSGS LATENCY_MSGS FILTER_CPUS LOAD_CPUS AGENT_HOME [FILTER_COMMAND...]
# Without a filter command the load goes straight to the sink (the reference row).
pipeline() {
  local name=$1 label=$2 msgs=$3 lat=$4 fcpus=$5 lcpus=$6 home=$7
  shift 7
  echo "== $label"
  wait_quiet
  local pin=() fpin=() fpid="" port=$filter_port
  [ -n "$lcpus" ] && pin=(taskset -c "$lcpus")
  [ -n "$fcpus" ] && fpin=(taskset -c "$fcpus")
  mkdir -p "$work/kept-$name"
  "${pin[@]}" "$load" sink --listen "127.0.0.1:$sink_port" --keep 2 --keep-dir "$work/kept-$name" --json \
    > "$work/$name.sink.json" 2> "$work/$name.sink.log" &
  local spid=$!
  pids+=("$spid")
  wait_port "$sink_port" "$spid" || { cat "$work/$name.sink.log"; exit 1; }
  if [ $# -gt 0 ]; then
    "${fpin[@]}" "$@" > "$work/$name.filter.log" 2>&1 &
    fpid=$!
    pids+=("$fpid")
    if ! wait_port "$filter_port" "$fpid"; then
      echo "  the filter did not come up:"; sed 's/^/    /' "$work/$name.filter.log" | tail -20
      stop "$spid"; failed=1; return
    fi
  else
    port=$sink_port
    : > "$work/$name.filter.log"
  fi
  measure "$name" "$msgs" "$lcpus" "$port" "$fpid" "$spid" "$home" "$lat"
  [ -n "$fpid" ] && stop "$fpid"
  stop "$spid"
  # Checks and one row of the table.
  if ! "$py" - "$work" "$name" "$label" "$tck" "$ncores" "${fpid:+sealed}" >> "$results" <<'EOF'
import json, sys
work, name, label, tck, ncores, sealed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
def load(what):
    return json.load(open(f"{work}/{name}.{what}json"))
run, warm, lat, sink = load(""), load("warm."), load("lat."), load("sink.")
problems = []
for r, what in ((warm, "warm-up"), (run, "run"), (lat, "one-client run")):
    if r["accepted"] != r["messages"]:
        problems.append(f"{what}: {r['messages'] - r['accepted']} of {r['messages']} not accepted ({r['tempfail']} "
                        f"tempfail, {r['permfail']} permfail, {r['connection_error']} connection errors); "
                        f"first: {r['failures'][:3]}")
expected = sorted(warm["seqs"]["accepted"] + run["seqs"]["accepted"] + lat["seqs"]["accepted"])
if sink["seqs"] != expected:
    missing = sorted(set(expected) - set(sink["seqs"]))
    extra = sorted(set(sink["seqs"]) - set(expected))
    problems.append(f"sink: {len(missing)} accepted messages missing (first {missing[:5]}), "
                    f"{len(extra)} it should not have (first {extra[:5]})")
if sink["duplicates"] or sink["without_seq"] or sink["messages"] != len(expected):
    problems.append(f"sink: {sink['messages']} messages for {len(expected)} accepted, duplicated: "
                    f"{sink['duplicates'][:5]}, without seq: {sink['without_seq']}")
if sealed and sink["encrypted"] != sink["messages"]:
    problems.append(f"sink: only {sink['encrypted']} of {sink['messages']} messages encrypted")
tot, idle, ftick, stick = map(int, open(f"{work}/{name}.cpu").read().split())
lu, ls = map(float, open(f"{work}/{name}.time").read().split()[-2:])
wall = run["wall_s"]
busy = (tot - idle) / tot * ncores * wall if tot else 0  # core-seconds busy on the whole machine
side = lu + ls + stick / tck                                 # load generator + sink
filt = ftick / tck                                           # the filter (with gpg and gpg-agent for the baseline)
other = max(busy - side - filt, 0)                           # anything else running: should be near 0
n = max(run["accepted"], 1)
ms = lambda v: f"{v or 0:.1f}"
print("\t".join([name, label, str(run["messages"]), f"{wall:.1f}", f"{run['messages_per_s']:.1f}", ms(run["p50_ms"]),
      ms(run["p99_ms"]), ms(lat["p50_ms"]), ms(lat["p99_ms"]), f"{filt / n * 1e3:.2f}" if sealed else "-",
      f"{side / wall * 100:.0f}", f"{other / wall * 100:.0f}",
      ("FAILED" if problems else "ok") + (", disturbed" if sealed and other / wall > 0.15 else "")]))
if sealed and other / wall > 0.15:
    print(f"  {label}: something else took {other / wall * 100:.0f}% of a core during the run: figures disturbed",
          file=sys.stderr)
for p in problems:
    print(f"  {label}: {p}", file=sys.stderr)
if sealed and wall < 20:
    print(f"  {label}: the run took only {wall:.1f} s: give it more messages for a steady figure", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
  then
    failed=1
    echo "  filter log (last lines):"; sed 's/^/    /' "$work/$name.filter.log" | tail -10
  fi
  if [ -n "$fpid" ]; then
    "$py" "$work"/check.py "$work"/bob "$alice_fpr" "$size" "$work/kept-$name"/msg-*.eml || failed=1
  fi
  tail -1 "$results" | awk -F'\t' '{printf "  %s msgs/s, p50 %s ms, p99 %s ms (%s messages in %s s); one client: p50 %s ms, p99 %s ms\n", $5, $6, $7, $3, $4, $8, $9}'
}

config() { # workers ("default": twice the cores the filter may run on)
  local line="workers = $1"
  [ "$1" = default ] && line="# workers: default"
  cat > "$work/sealpost-$1.toml" <<EOF
keystore = "$work/ks"
local_domains = ["example.org"]
[smtp]
listen = "127.0.0.1:$filter_port"
relay = "127.0.0.1:$sink_port"
$line
[outbound]
sign = true
encrypt = "opportunistic"
format = "pgp"
EOF
  echo "$work/sealpost-$1.toml"
}

echo "sealpost $("$sealpost" --version | awk '{print $2}') against $(gpg --version | head -1); $ncores cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')"
echo "$clients clients, ${size}-byte bodies, RSA-3072 signer and recipient, PGP/MIME; messages: baseline $baseline_msgs, sealpost $sealpost_msgs"
echo "load generator and sink share the machine's $ncores cores with the filter (see the comment at the top)"
pipeline direct "no filter (load generator -> sink)" "$sealpost_msgs" 1000 "" "" ""
pipeline baseline "gpg per message (zeyple_like.py)" "$baseline_msgs" 100 "" "" "$work/base" \
  "$py" "$bench_dir/zeyple_like.py" --gnupghome "$work/base" --listen "127.0.0.1:$filter_port" \
  --relay "127.0.0.1:$sink_port"
gpgconf --homedir "$work"/base --kill gpg-agent 2>/dev/null || true
pipeline one "sealpost, 1 core (default workers)" "$sealpost_msgs" 1000 0 1 "" \
  "$sealpost" filter smtp --config "$(config default)"
pipeline two "sealpost, 2 cores (default workers)" "$sealpost_msgs" 1000 "" "" "" \
  "$sealpost" filter smtp --config "$(config default)"
for w in ${BENCH_EXTRA_WORKERS:-}; do
  pipeline "two-$w" "sealpost, 2 cores (workers=$w)" "$sealpost_msgs" 1000 "" "" "" \
    "$sealpost" filter smtp --config "$(config "$w")"
done

echo
printf "%-36s | %8s | %8s | %7s | %7s | %11s | %10s | %10s | %10s | %9s | %5s | %s\n" pipeline messages msgs/s \
  "p50 ms" "p99 ms" "vs baseline" "1-cl. p50" "1-cl. p99" "CPU ms/msg" "load+sink" other checks
rate_of() { awk -F'\t' -v n="$1" '$1 == n {print $5}' "$results"; }
base_rate=$(rate_of baseline)
while IFS=$'\t' read -r name label msgs _ rate p50 p99 l50 l99 cpu side other ok; do
  ratio=$(awk -v r="$rate" -v b="$base_rate" 'BEGIN {if (b > 0) printf "%.1fx", r / b; else print "-"}')
  [ "$name" = direct ] && ratio="-"
  printf "%-36s | %8s | %8s | %7s | %7s | %11s | %10s | %10s | %10s | %8s%% | %4s%% | %s\n" "$label" "$msgs" "$rate" \
    "$p50" "$p99" "$ratio" "$l50" "$l99" "$cpu" "$side" "$other" "$ok"
done < "$results"
one_rate=$(rate_of one); two_rate=$(rate_of two)
if [ -n "$one_rate" ] && [ -n "$two_rate" ]; then
  awk -v a="$one_rate" -v b="$two_rate" 'BEGIN {printf "scaling from 1 to 2 cores: %.2fx (on 2 cores the load generator and the sink share them)\n", (a > 0 ? b / a : 0)}'
fi
cat <<'EOF'
p50/p99: latency (MAIL to the 250 after the end of data) under the full load, mostly queueing at saturation;
1-cl. p50/p99: with one client and nothing else queued, what the pipeline itself adds (compare the no-filter row).
CPU ms/msg: the filter's CPU time per message (for the baseline: python, its gpg processes and gpg-agent);
load+sink: the load generator's and the sink's CPU, and other: everything else on the machine, in % of one core.
EOF
exit "$failed"
