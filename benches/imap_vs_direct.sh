#!/usr/bin/env bash
# The IMAP proxy against Dovecot itself, side by side in one run (issue #8, item 6): FETCH throughput
# straight to a private Dovecot and through `sealpost filter imap` in front of it (cache_bytes = 0, so
# every encrypted message is opened again each time it is fetched).
#
#   benches/imap_vs_direct.sh [PLAIN] [ENCRYPTED] [CLIENTS]
#   benches/imap_vs_direct.sh                     # 2000 plaintext + 300 encrypted messages, 4 clients (~1-2 min
#                                                 # once built; the release build itself takes several minutes)
#   IMAP_BENCH_ROUNDS=9 IMAP_BENCH_JSON=/tmp/imap.json benches/imap_vs_direct.sh 500 100 2
#
# It is the ignored test tests/imap_bench.rs (its header says everything in detail), run with a release
# build of sealpost:
#   cargo test --release --test imap_bench -- --ignored --nocapture
# Three scenarios, each measured direct and through the proxy in alternating rounds (median of
# IMAP_BENCH_ROUNDS, default 5), with CLIENTS connections sharing batches of IMAP_BENCH_BATCH (100) UIDs:
#   - plaintext `UID FETCH ... (UID RFC822.SIZE BODY.PEEK[])`, ~30 KiB text messages: messages/s, MB/s, and
#     the proxy's overhead in time (the goal: at most 10%);
#   - plaintext `UID FETCH ... (UID FLAGS BODYSTRUCTURE RFC822.SIZE)` (header-list style): the same figures;
#   - signed+encrypted PGP/MIME (RSA-3072) `BODY.PEEK[]`: ciphertext direct, decrypted and verified through
#     the proxy (messages/s).
# Every message is checked (in full in a first, uncounted round). The table goes to stdout; with
# IMAP_BENCH_JSON=FILE the figures (every round's too) are also written there as JSON.
#
# Settings, from the arguments or the environment (passed through): IMAP_BENCH_PLAIN (2000),
# IMAP_BENCH_ENCRYPTED (300), IMAP_BENCH_CLIENTS (4), IMAP_BENCH_ROUNDS (5), IMAP_BENCH_BATCH (100),
# IMAP_BENCH_MIN_SECONDS (1.0: a round of a fast scenario fetches the mailbox several times over to last about
# this long; rates are compared), IMAP_BENCH_JSON. A missing Dovecot (dovecot-imapd, dovecot-pop3d) or gpg is an error here, not a skip
# (SEALPOST_REQUIRE_PEERS=1).
#
# Honestly, about the machine: the client, Dovecot and the proxy share its cores; the table's "cores busy"
# column says how many were busy (by anything) during the rounds, so a build running beside it shows there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && export IMAP_BENCH_PLAIN=$1
[ $# -ge 2 ] && export IMAP_BENCH_ENCRYPTED=$2
[ $# -ge 3 ] && export IMAP_BENCH_CLIENTS=$3
export SEALPOST_REQUIRE_PEERS=${SEALPOST_REQUIRE_PEERS:-1}
exec cargo test --release --test imap_bench -- --ignored --nocapture --test-threads 1
