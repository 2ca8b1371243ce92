#!/usr/bin/env bash
# S/MIME sign, verify, encrypt and decrypt: `openssl cms` and sealpost side by side in one run (issue #4,
# item 8).
#
#   benches/smime_vs_openssl.sh [SIZE_MIB] [RUNS]
#   benches/smime_vs_openssl.sh 64 7            # the figures in docs/performance.md
#
# A fresh PKI made by openssl (root CA, RSA-3072 user with emailProtection), SIZE_MIB random MiB. Each tool
# signs (attached, SHA-256, PKCS #1 v1.5), verifies its own signature against the root, encrypts to the user (AES-256-CBC, RSA PKCS #1 v1.5) and decrypts its own message, RUNS times, the two tools
# taking turns run by run; the table shows median wall-clock seconds, openssl/sealpost, and the peak RSS of
# one more run of each. openssl runs as users call it for a file (`-binary -outform DER`, no `-stream`);
# its streaming mode is shown on a second line for encryption. Outputs are checked: each tool decrypts and
# verifies the other's messages and gets the input back. Needs openssl, GNU time, and a release build.
set -euo pipefail
bench_dir=$(cd "$(dirname "$0")" && pwd)
cd "$bench_dir/.."
size=${1:-64}
runs=${2:-5}

cargo build --release --quiet
sealpost=$PWD/target/release/sealpost
work=$(mktemp -d "${TMPDIR:-/tmp}/sealpost-smime-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
cd "$work"

cat > ext.cnf <<'CNF'
[ca]
basicConstraints=critical,CA:TRUE
keyUsage=critical,keyCertSign,cRLSign
[user]
basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=emailProtection
subjectAltName=email:bench@example.org
CNF
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out root.key
openssl req -x509 -new -key root.key -subj "/CN=Bench Root" -days 2 -extensions ca -config ext.cnf -out root.pem
openssl genpkey -quiet -algorithm RSA -pkeyopt rsa_keygen_bits:3072 -out user.key
chmod 600 user.key
openssl req -new -key user.key -subj "/CN=Bench User" -out user.csr
openssl x509 -req -in user.csr -CA root.pem -CAkey root.key -CAcreateserial -days 2 -extfile ext.cnf \
  -extensions user -out user.pem 2>/dev/null
head -c "$((size << 20))" /dev/urandom > plain

# timed, rss (KiB) and median.
# shellcheck source=benches/timing.sh
source "$bench_dir/timing.sh"

# The messages each tool's verify and decrypt runs read.
openssl cms -sign -binary -nodetach -outform DER -in plain -out o.p7s -signer user.pem -inkey user.key
openssl cms -encrypt -binary -aes256 -outform DER -in plain -out o.p7m user.pem
"$sealpost" smime sign --cert user.pem --key user.key -o s.p7s plain
"$sealpost" smime encrypt --recipient user.pem -o s.p7m plain
# Interop check on the big files: each reads the other's.
"$sealpost" smime verify --ca root.pem -o check o.p7s 2>/dev/null && cmp -s plain check
"$sealpost" smime decrypt --cert user.pem --key user.key -o check o.p7m 2>/dev/null && cmp -s plain check
openssl cms -verify -binary -inform DER -in s.p7s -CAfile root.pem -out check 2>/dev/null && cmp -s plain check
openssl cms -decrypt -binary -inform DER -in s.p7m -recip user.pem -inkey user.key -out check && cmp -s plain check
rm -f check

declare -A o_cmd s_cmd
o_cmd[sign]="openssl cms -sign -binary -nodetach -outform DER -in plain -out out.tmp -signer user.pem -inkey user.key"
s_cmd[sign]="$sealpost smime sign --cert user.pem --key user.key -o out.tmp plain"
o_cmd[verify]="openssl cms -verify -binary -inform DER -in o.p7s -CAfile root.pem -out out.tmp"
s_cmd[verify]="$sealpost smime verify --ca root.pem -o out.tmp s.p7s"
o_cmd[encrypt]="openssl cms -encrypt -binary -aes256 -outform DER -in plain -out out.tmp user.pem"
s_cmd[encrypt]="$sealpost smime encrypt --recipient user.pem -o out.tmp plain"
o_cmd[decrypt]="openssl cms -decrypt -binary -inform DER -in o.p7m -recip user.pem -inkey user.key -out out.tmp"
s_cmd[decrypt]="$sealpost smime decrypt --cert user.pem --key user.key -o out.tmp s.p7m"
o_cmd[encrypt-stream]="openssl cms -encrypt -binary -stream -aes256 -outform DER -in plain -out out.tmp user.pem"
s_cmd[encrypt-stream]="${s_cmd[encrypt]}"

echo "openssl: $(openssl version); sealpost: $($sealpost --version); ${size} MiB, RSA-3072, median of $runs"
printf "%-15s | %10s %10s %7s | %10s %10s %9s\n" operation "openssl" "sealpost" "ratio" "ossl RSS" "our RSS" "RSS ratio"
for op in sign verify encrypt decrypt encrypt-stream; do
  : > o.txt; : > s.txt
  for _ in $(seq "$runs"); do
    # shellcheck disable=SC2086 # the commands are word lists
    timed ${o_cmd[$op]} >> o.txt
    # shellcheck disable=SC2086
    timed ${s_cmd[$op]} >> s.txt
  done
  ot=$(median < o.txt); st=$(median < s.txt)
  # shellcheck disable=SC2086
  orss=$(( $(rss ${o_cmd[$op]}) / 1024 )); srss=$(( $(rss ${s_cmd[$op]}) / 1024 ))
  printf "%-15s | %9ss %9ss %6.2fx | %6s MiB %6s MiB %8.2fx\n" "$op" "$ot" "$st" \
    "$(echo "$ot $st" | awk '{print ($2 > 0) ? $1 / $2 : 0}')" "$orss" "$srss" \
    "$(echo "$orss $srss" | awk '{print ($2 > 0) ? $1 / $2 : 0}')"
done
