#!/usr/bin/env bash
# What recycling workers (--worker-max-calls) costs the calls around it, for a model whose import is slow: the
# model sleeps IMPORT_S seconds (default 1) at import, as one loading weights would, and its function returns at
# once. The endpoint runs 2 workers recycled every MAX_CALLS calls (default 40,000) while loadgen offers a
# constant RATE calls/s (default 15,000) for RUN_SECONDS seconds (default 10) over 32 connections, so each worker is
# recycled about once or twice. Prints, per endpoint binary, the calls and failures, latency from the intended
# start (p50, p99, p99.9, max: a recycle that leaves the pool short of workers while the model imports shows
# here), and the endpoint's recycle lines. Several binaries (an older build, then this one) run in turn, ROUNDS
# (default 2) rounds each, interleaved. Nothing is pinned: the endpoint, its workers and loadgen share the cores.
# A benchmark prints figures; it never fails a test.
# Usage: [ROUNDS=2] [RATE=15000] [RUN_SECONDS=10] [MAX_CALLS=40000] [IMPORT_S=1]
#        Benchmarks/worker-recycle.sh [reference-endpoint binary…]   (default: this checkout's release build)
set -euo pipefail
ROUNDS=${ROUNDS:-2}
RATE=${RATE:-15000}
RUN_SECONDS=${RUN_SECONDS:-10}
MAX_CALLS=${MAX_CALLS:-40000}
IMPORT_S=${IMPORT_S:-1}
source "$(dirname "$0")/lib.sh"
bench_init worker-recycle
require_tools python3
echo "building release reference-endpoint and loadgen…"
build_release "$ROOT" --product loadgen
LOADGEN="$ROOT/.build/release/loadgen"
if [ "$#" -gt 0 ]; then
  BINARIES=("$@")
else
  build_release "$ROOT" --product reference-endpoint
  BINARIES=("$ROOT/.build/release/reference-endpoint")
fi

mkdir -p "$WORK/model"
cat > "$WORK/model/model.py" <<PY
import time
time.sleep($IMPORT_S)  # a slow import: a framework, a model's weights


def predict(x):
    return {"y": x}
PY
ROUTE='{"path": "/predict", "file": "model", "function": "predict", "positional": true, "body": [{"name": "x", "type": "int"}]}'

run() { # run BINARY: one round against a fresh endpoint
  local bin=$1
  "$bin" --model-dir "$WORK/model" --route "$ROUTE" --workers 2 --worker-max-calls "$MAX_CALLS" --port 0 \
    --no-access-log >"$WORK/server.out" 2>"$WORK/server.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for_endpoint "$pid" "$bin"
  cat > "$WORK/scenario.json" <<JSON
{"name": "worker-recycle", "target": {"url": "http://127.0.0.1:$PORT"},
 "requests": [{"route": "/predict", "method": "POST", "body": {"x": 1}}],
 "load": {"type": "constant-rate", "rate": $RATE, "duration": "${RUN_SECONDS}s"},
 "client": {"connections": 32, "timeout": "5s"}}
JSON
  "$LOADGEN" run "$WORK/scenario.json" --quiet --json "$WORK/result.json" >/dev/null 2>"$WORK/loadgen.err" || true
  stop_all
  [ -s "$WORK/result.json" ] || { echo "error: loadgen wrote no result" >&2; cat "$WORK/loadgen.err" >&2; exit 1; }
  python3 - "$WORK/result.json" "$bin" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
l = r["latency_ms"]
print(f"  {sys.argv[2]}: calls {r['calls']}, failed {r['failed']}, not sent {r['not_sent']['total']}; latency ms "
      f"p50 {l['p50']}, p99 {l['p99']}, p99.9 {l['p999']}, max {l['max']}")
PY
  grep -E "recycled|to replace it|takes over" "$WORK/server.err" | sed 's/^/    /' || true
}

echo "2 workers, --worker-max-calls $MAX_CALLS, a $IMPORT_S s import; loadgen $RATE calls/s for ${RUN_SECONDS}s"
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round"
  for bin in "${BINARIES[@]}"; do run "$bin"; done
done
