#!/usr/bin/env bash
# Prints what --drop-abandoned and X-Deadline-Ms save at saturation: one worker with a 10 ms delay (about 95
# calls/s) offered 150 calls/s for 10 s by loadgen, 150 ms client timeout, no retries. For each variant it prints
# the endpoint's GET /stats and loadgen's successful calls; ROUNDS rounds per variant, interleaved.
#   plain          no flag: the queue fills with calls whose client has left, the worker serves them anyway
#   drop           --drop-abandoned, clients send no deadline: dropped once their connection closed
#   drop+deadline  --drop-abandoned, clients send X-Deadline-Ms: 150: also dropped when they cannot finish in time
# The endpoint is pinned to CPU 0, loadgen to CPU 1. A benchmark prints figures; it never fails a test.
# Usage: Benchmarks/endpoint-abandoned.sh [rounds=3]   (BIN_DIR=.build/debug uses existing builds, no release build)
set -euo pipefail
ROUNDS=${1:-3}
source "$(dirname "$0")/lib.sh"
bench_init endpoint-abandoned
require_tools taskset curl python3
if [ -n "${BIN_DIR:-}" ]; then
  BIN=$(cd "$ROOT" && cd "$BIN_DIR" && pwd)
else
  echo "building release reference-endpoint and loadgen…"
  build_release "$ROOT" --product reference-endpoint
  build_release "$ROOT" --product loadgen
  BIN="$ROOT/.build/release"
fi
PORT=18431
ROUTE='{"path": "/predict", "file": "predict", "function": "predict", "body": [{"name": "text", "type": "str"}]}'

scenario() { # scenario FILE HEADERS_JSON
  cat > "$1" <<JSON
{
  "name": "abandoned",
  "target": {"url": "http://127.0.0.1:$PORT"},
  "requests": [{"route": "/predict", "body": {"text": "x"}, "headers": $2}],
  "load": {"type": "constant-rate", "rate": 150, "duration": "10s"},
  "client": {"connections": 256, "timeout": "150ms", "retry": {"maxAttempts": 1}}
}
JSON
}
scenario "$WORK/plain.json" '{}'
scenario "$WORK/deadline.json" '{"X-Deadline-Ms": "150"}'

run_variant() { # run_variant NAME SCENARIO [endpoint flags…]
  local name=$1 file=$2
  shift 2
  taskset -c 0 "$BIN/reference-endpoint" --model-dir "$ROOT/examples/echo" --route "$ROUTE" --port $PORT \
    --workers 1 --loop-threads 1 --delay 10ms --no-access-log "$@" >"$WORK/ready.txt" 2>"$WORK/endpoint.log" &
  local ep=$!
  PIDS+=("$ep")
  for _ in $(seq 1 200); do grep -q running "$WORK/ready.txt" 2>/dev/null && break; sleep 0.1; done
  taskset -c 1 "$BIN/loadgen" run "$file" --quiet --json "$WORK/out.json" >/dev/null 2>"$WORK/loadgen.err" || true
  local stats ok
  stats=$(curl -s "http://127.0.0.1:$PORT/stats")
  ok=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['ok'])" "$WORK/out.json")
  stop_all
  printf '%-14s loadgen ok %4s of 1500   %s\n' "$name" "$ok" "$stats"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round"
  run_variant plain "$WORK/plain.json"
  run_variant drop "$WORK/plain.json" --drop-abandoned
  run_variant drop+deadline "$WORK/deadline.json" --drop-abandoned
done
