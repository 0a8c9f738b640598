#!/usr/bin/env bash
# Prints the per-call cost of ResilientClient (callJSON, and call with Codable types) next to the bare
# LoopTransport it sends with: same target, same number of calls, same concurrency, in the same run, the variants
# interleaved round by round. The target is a fixed fast NetIO server (POST /predict → {"y":1}) pinned to CPU 0 and
# the client to CPU 1, so that the client's own cost dominates. A benchmark prints figures; it never fails a test.
# Usage: Benchmarks/client-overhead.sh [calls=20000] [concurrency=16] [rounds=5]
set -euo pipefail
CALLS=${1:-20000}
CONCURRENCY=${2:-16}
ROUNDS=${3:-5}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}  # a fixed port could be held by another benchmark
bench_init client-overhead
require_tools taskset

throwaway_package bench ResilientClient
cp "$ROOT/Benchmarks/client-overhead/main.swift" "$WORK/pkg/Sources/bench/main.swift"
echo "building release bench…"
build_release "$WORK/pkg" --product bench
BIN="$WORK/pkg/.build/release/bench"

taskset -c 0 "$BIN" server "$PORT" >/dev/null & PIDS+=($!)
wait_for_port "$PORT" || true
kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "the bench server failed to start (port $PORT in use?)"; exit 1; }
echo "server on CPU 0, client on CPU 1"
taskset -c 1 "$BIN" client "http://127.0.0.1:$PORT" "$CALLS" "$CONCURRENCY" "$ROUNDS"
