#!/usr/bin/env bash
# DSA signatures and ElGamal encryption, gpg and sealpost side by side in one run (issue #10, item 6).
#
#   benches/legacy_pgp_vs_gpg.sh [OPS] [SIZE_KIB]
#   benches/legacy_pgp_vs_gpg.sh 200 1          # the figures in docs/performance.md
#
# One fresh key made by gpg, as gpg made them for a decade: `dsa2048` (sign, certify) with an `elg2048`
# encryption subkey, so both tools use the same keys. On a message of SIZE_KIB random KiB, each tool runs
# each operation OPS times, the two tools taking turns run by run: ElGamal encryption (no compression on
# either side), decryption of its own message, a DSA signature (binary, SHA-256) and the verification of its
# own signature. The table shows the total wall-clock seconds of the OPS runs, milliseconds per run and
# gpg/sealpost; these are whole command runs (process start, key file parsing, gpg-agent round trips for
# gpg), which is what a mail user waits for. The in-process figures of `sealpost bench` for the same keys
# and operations follow. Both directions are checked first: each tool decrypts and verifies the other's
# output. Needs gpg and a release build.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
cd "$bench_dir/.."
ops=${1:-200}
size=${2:-1}

cargo build --release --quiet
sealpost=$PWD/target/release/sealpost
work=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-bench.XXXXXX")
export GNUPGHOME=$work/gnupg
trap 'gpgconf --kill all 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -m 700 "$GNUPGHOME"
cd "$work"

gpg --batch --passphrase '' --quick-gen-key 'Bench <bench@example.org>' dsa2048 sign,cert never 2>/dev/null
fpr=$(gpg --with-colons --list-keys bench@example.org 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --passphrase '' --quick-add-key "$fpr" elg2048 encr never 2>/dev/null
gpg --export bench@example.org > bench.cert
(umask 077; gpg --batch --export-secret-keys bench@example.org > bench.key)
head -c "$((size << 10))" /dev/urandom > plain

# timed and median (timed prints one run's wall seconds).
# shellcheck source=benches/timing.sh
source "$bench_dir/timing.sh"

g=(gpg --batch --yes --trust-model always)
genc=("${g[@]}" -r bench@example.org -z 0 -e -o out.tmp plain)
senc=("$sealpost" pgp encrypt --recipient bench.cert --compress none -o out.tmp plain)
gdec=("${g[@]}" -d -o out.tmp g.pgp)
sdec=("$sealpost" pgp decrypt --key bench.key -o out.tmp s.pgp)
gsig=("${g[@]}" -u bench@example.org --digest-algo SHA256 -s -o out.tmp plain)
ssig=("$sealpost" pgp sign --key bench.key -o out.tmp plain)
gver=("${g[@]}" --verify g.sig)
sver=("$sealpost" pgp verify --cert bench.cert -o out.tmp s.sig)

# Each tool's own message and signature, and the other tool reading them.
"${g[@]}" -r bench@example.org -z 0 -e -o g.pgp plain 2>/dev/null
"$sealpost" pgp encrypt --recipient bench.cert --compress none -o s.pgp plain
"${g[@]}" -u bench@example.org --digest-algo SHA256 -s -o g.sig plain 2>/dev/null
"$sealpost" pgp sign --key bench.key -o s.sig plain
gpg --list-packets g.pgp 2>/dev/null | grep -q 'pubkey enc packet: version 3, algo 16'
gpg --list-packets s.pgp 2>/dev/null | grep -q 'pubkey enc packet: version 3, algo 16'
gpg --batch -d -o check1 s.pgp 2>/dev/null && cmp -s plain check1
"$sealpost" pgp decrypt --key bench.key -o check2 g.pgp 2>/dev/null && cmp -s plain check2
gpg --batch --status-fd 1 --verify s.sig 2>/dev/null | grep -q '^\[GNUPG:\] VALIDSIG .* 4 0 17 8 00 '
"$sealpost" pgp verify --cert bench.cert -o check3 g.sig 2>/dev/null && cmp -s plain check3
rm -f check1 check2 check3

echo "gpg: $(gpg --version | head -1); sealpost: $($sealpost --version); DSA-2048/ElGamal-2048 made by gpg," \
  "${size} KiB, $ops runs of each"
printf "%-16s | %9s %9s | %9s %9s | %7s\n" operation "gpg s" "ours s" "gpg ms" "ours ms" "ratio"
# Runs in turns; the sum of the per-run times of each tool, per operation.
row() {
  local name=$1; shift
  local -n theirs=$1 ours=$2
  : > g.txt; : > s.txt
  for _ in $(seq "$ops"); do
    timed "${theirs[@]}" >> g.txt
    timed "${ours[@]}" >> s.txt
  done
  local gt st
  gt=$(awk '{s += $1} END {printf "%.3f", s}' g.txt)
  st=$(awk '{s += $1} END {printf "%.3f", s}' s.txt)
  printf "%-16s | %8ss %8ss | %9.2f %9.2f | %6.2fx\n" "$name" "$gt" "$st" \
    "$(echo "$gt $ops" | awk '{print 1000 * $1 / $2}')" "$(echo "$st $ops" | awk '{print 1000 * $1 / $2}')" \
    "$(echo "$gt $st" | awk '{print ($2 > 0) ? $1 / $2 : 0}')"
}
row elg2048-encrypt genc senc
row elg2048-decrypt gdec sdec
row dsa2048-sign gsig ssig
row dsa2048-verify gver sver

echo
echo "in process (sealpost bench --only 'elg2048*,dsa2048*' --seconds 2):"
"$sealpost" bench --only 'elg2048*,dsa2048*' --seconds 2
