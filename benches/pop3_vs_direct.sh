#!/usr/bin/env bash
# The POP3 proxy against Dovecot itself, side by side in one run (issue #11): RETR throughput straight to a
# private Dovecot and through `sealpost filter pop3` in front of it (cache_bytes = 0, so every encrypted
# message is opened again each time it is retrieved).
#
#   benches/pop3_vs_direct.sh [PLAIN] [ENCRYPTED] [SESSIONS]
#   benches/pop3_vs_direct.sh                     # 1000 plaintext + 200 encrypted messages, 4 sessions (~1-2 min
#                                                 # once built; the release build itself takes several minutes)
#   POP3_BENCH_ROUNDS=9 POP3_BENCH_JSON=/tmp/pop3.json benches/pop3_vs_direct.sh 500 100 2
#
# It is the ignored test tests/pop3_bench.rs (its header says everything in detail), run with a release
# build of sealpost:
#   cargo test --release --test pop3_bench -- --ignored --nocapture
# Two scenarios, each measured direct and through the proxy in alternating rounds (median of
# POP3_BENCH_ROUNDS, default 5), with SESSIONS POP3 sessions of the same user taking message numbers from one
# queue (USER, PASS and LIST before the clock starts; RETR each message; QUIT after it stops):
#   - plaintext RETR, ~30 KiB text messages: messages/s, MB/s, and the proxy's overhead in time (the goal:
#     at most 10%);
#   - signed+encrypted PGP/MIME (RSA-3072) RETR: ciphertext direct, decrypted and verified through the proxy
#     (messages/s).
# The "setup s" column is the sessions' login and first LIST, which through the proxy reads every message
# once (for LIST sizes that agree with RETR). Every message is checked (in full in a first, uncounted
# round). The table goes to stdout; with POP3_BENCH_JSON=FILE the figures (every round's too) are also
# written there as JSON.
#
# Settings, from the arguments or the environment (passed through): POP3_BENCH_PLAIN (1000),
# POP3_BENCH_ENCRYPTED (200), POP3_BENCH_CLIENTS (4), POP3_BENCH_ROUNDS (5), POP3_BENCH_MIN_SECONDS (1.0: a
# round of a fast scenario retrieves the mailbox several times over to last about this long; rates are
# compared), POP3_BENCH_JSON. A missing Dovecot (dovecot-imapd, dovecot-pop3d) or gpg is an error here, not
# a skip (SEALPOST_REQUIRE_PEERS=1).
#
# Honestly, about the machine: the client, Dovecot and the proxy share its cores; the table's "cores busy"
# column says how many were busy (by anything) during the rounds, so a build running beside it shows there.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] && export POP3_BENCH_PLAIN=$1
[ $# -ge 2 ] && export POP3_BENCH_ENCRYPTED=$2
[ $# -ge 3 ] && export POP3_BENCH_CLIENTS=$3
export SEALPOST_REQUIRE_PEERS=${SEALPOST_REQUIRE_PEERS:-1}
exec cargo test --release --test pop3_bench -- --ignored --nocapture --test-threads 1
