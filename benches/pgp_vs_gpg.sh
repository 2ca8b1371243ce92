#!/usr/bin/env bash
# OpenPGP encryption and decryption, gpg and sealpost side by side in one run (issue #3, item 8).
#
#   benches/pgp_vs_gpg.sh [SIZE_MIB] [RUNS] [CIPHERS]
#   benches/pgp_vs_gpg.sh 64 9                          # the figures in docs/performance.md
#   benches/pgp_vs_gpg.sh 1024 1 AES256                 # peak RSS at 1 GiB
#
# One fresh RSA-3072 key (made by gpg, so both tools use the same recipient), a file of SIZE_MIB random MiB,
# no compression on either side (gpg -z 0; sealpost's default). For each cipher, each tool encrypts and
# decrypts the file RUNS times, the two tools taking turns; the table shows the median wall-clock seconds,
# gpg/sealpost, and the peak RSS of one more run of each.
# Every output is checked against the input. Needs gpg, /usr/bin/time (GNU), and a release build.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
cd "$bench_dir/.."
size=${1:-64}
runs=${2:-3}
ciphers=${3:-"AES256 AES128 CAST5 3DES IDEA"}

cargo build --release --quiet
sealpost=$PWD/target/release/sealpost
work=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
cd "$work"

gpg --batch --passphrase '' --quick-gen-key 'Bench <bench@example.org>' rsa3072 sign,cert never 2>/dev/null
fpr=$(gpg --with-colons --list-keys bench@example.org | awk -F: '/^fpr/ {print $10; exit}')
gpg --batch --passphrase '' --quick-add-key "$fpr" rsa3072 encr never 2>/dev/null
gpg --export bench@example.org > bench.cert
(umask 077; gpg --batch --export-secret-keys bench@example.org > bench.key)
head -c "$((size << 20))" /dev/urandom > plain

# timed, rss (KiB) and median.
# shellcheck source=benches/timing.sh
source "$bench_dir/timing.sh"

lower() { echo "$1" | tr 'A-Z' 'a-z'; }

echo "gpg: $(gpg --version | head -1); sealpost: $($sealpost --version); ${size} MiB, RSA-3072, median of $runs"
printf "%-7s | %9s %9s %7s | %9s %9s %7s | %9s %9s\n" cipher "gpg enc" "ours enc" "ratio" "gpg dec" "ours dec" "ratio" "our RSS" "gpg RSS"
for c in $ciphers; do
  case $c in 3DES) ours=3des ;; *) ours=$(lower "$c") ;; esac
  genc=(gpg --batch --yes --trust-model always -r bench@example.org --cipher-algo "$c" -z 0 -e -o out.tmp plain)
  gdec=(gpg --batch --yes -d -o out.tmp g.pgp)
  senc=("$sealpost" pgp encrypt --recipient bench.cert --cipher "$ours" -o out.tmp plain)
  sdec=("$sealpost" pgp decrypt --key bench.key -o out.tmp s.pgp)
  gpg --batch --yes --trust-model always -r bench@example.org --cipher-algo "$c" -z 0 -e -o g.pgp plain 2>/dev/null
  "$sealpost" pgp encrypt --recipient bench.cert --cipher "$ours" -o s.pgp plain
  # The two tools take turns, run by run, so that whatever else the machine is doing falls on both alike.
  : > ge.txt; : > gd.txt; : > se.txt; : > sd.txt
  for _ in $(seq "$runs"); do
    timed "${genc[@]}" >> ge.txt
    timed "${senc[@]}" >> se.txt
    timed "${gdec[@]}" >> gd.txt
    timed "${sdec[@]}" >> sd.txt
  done
  ge=$(median < ge.txt); se=$(median < se.txt); gd=$(median < gd.txt); sd=$(median < sd.txt)
  sr=$(rss "${senc[@]}"); sdr=$(rss "${sdec[@]}"); gr=$(rss "${genc[@]}"); gdr=$(rss "${gdec[@]}")
  # Both directions must really work: each tool decrypts the other's output.
  gpg --batch --yes -d -o check1 s.pgp 2>/dev/null && cmp -s plain check1
  "$sealpost" pgp decrypt --key bench.key -o check2 g.pgp 2>/dev/null && cmp -s plain check2
  rm -f check1 check2
  rss=$(( (sr > sdr ? sr : sdr) / 1024 ))
  grss=$(( (gr > gdr ? gr : gdr) / 1024 ))
  printf "%-7s | %8ss %8ss %6.2fx | %8ss %8ss %6.2fx | %6s MiB %6s MiB\n" "$c" "$ge" "$se" \
    "$(echo "$ge $se" | awk '{print ($2 > 0) ? $1 / $2 : 0}')" "$gd" "$sd" \
    "$(echo "$gd $sd" | awk '{print ($2 > 0) ? $1 / $2 : 0}')" "$rss" "$grss"
done
