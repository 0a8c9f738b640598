#!/usr/bin/env bash
# Prints the per-call cost of ResilientClient (callJSON, and call with Codable types) next to the bare
# LoopTransport it sends with: same target, same number of calls, same concurrency, in the same run, the variants
# interleaved round by round. The target is a fixed fast NetIO server (POST /predict → {"y":1}) pinned to CPU 0 and
# the client to CPU 1, so that the client's own cost dominates. A benchmark prints figures; it never fails a test.
# Many short rounds (the default: 61 of 2,000 calls) resist a shared machine's slow spells better than a few long
# ones; even so, runs differ by a few percent, so compare medians over several runs (Benchmarks/README.md), or
# instruction counts (client-instructions.sh).
# Usage: [VARIANTS=bare,bareJSON,json,untimed,bareCodable,typed] Benchmarks/client-overhead.sh [calls=2000]
#        [concurrency=16] [rounds=61]
set -euo pipefail
CALLS=${1:-2000}
CONCURRENCY=${2:-16}
ROUNDS=${3:-61}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}  # a fixed port could be held by another benchmark
bench_init client-overhead
require_tools taskset

client_bench_start
echo "server on CPU 0, client on CPU 1"
taskset -c 1 "$BIN" client "http://127.0.0.1:$PORT" "$CALLS" "$CONCURRENCY" "$ROUNDS"
