#!/usr/bin/env bash
# Requests/s of the reference endpoint against its natural peers, all measured with wrk in the same run:
#   ours           reference-endpoint --workers 1 --loop-threads 1 --no-access-log   (examples/trivial)
#   fastapi-def    FastAPI + uvicorn (1 worker, uvloop, httptools, no access log), the same trivial function
#                  called from a plain `def` handler (runs in the thread pool)
#   fastapi-async  the same with an `async def` handler (runs on the event loop)
#   nginx          `return 200` for /ping only (one worker, access_log off): the ceiling for an HTTP server
# Every server runs alone, pinned to CPU 0 (with its Python worker); wrk runs pinned to CPU 1.
# Loads: GET /ping, and POST /predict with {"x": 1} (Content-Type: application/json) through a wrk Lua script.
# Prints a table and the ratios ours/def and ours/async on /predict, ours/nginx on /ping, with the load average.
# A benchmark prints figures; it never fails a test. Python packages: pip install -r requirements-bench.txt
#
# Usage: Benchmarks/endpoint-vs-fastapi.sh [duration-seconds=10] [connections=64]
set -euo pipefail
DURATION=${1:-10}
CONNS=${2:-64}
source "$(dirname "$0")/lib.sh"
bench_init endpoint-bench
require_tools --fail wrk taskset python3
python3 -c "import fastapi, uvicorn, uvloop, httptools" 2>/dev/null \
  || { echo "error: FastAPI peer missing: pip install -r $ROOT/requirements-bench.txt" >&2; exit 1; }

trivial_predict_endpoint

# Starts "$@" pinned to CPU 0, waits (at most 120 s) for its "Endpoint is running at: http://H:P" line and
# sets PORT.
start_server() {
  taskset -c 0 "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  wait_for_endpoint "$SERVER_PID" "server $*"
}

# wrk on CPU 1 against http://127.0.0.1:PORT$1 (optionally with a Lua script $2): prints req/s and, on
# stderr, any non-2xx/3xx count or socket errors.
measure() {
  local path=$1 script=${2:-} out
  local args=(-t1 -c"$CONNS" -d"${DURATION}s")
  [ -n "$script" ] && args+=(-s "$script")
  local warm=(-t1 -c"$CONNS" -d2s)
  [ -n "$script" ] && warm+=(-s "$script")
  wrk_rps "${warm[@]}" "http://127.0.0.1:$PORT$path" >/dev/null  # warm-up
  out=$(taskset -c 1 wrk "${args[@]}" "http://127.0.0.1:$PORT$path")
  echo "$out" | grep -E "Non-2xx|Socket errors" | sed "s|^|  [$path] |" >&2 || true
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}

declare -A PING PREDICT
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

start_server "$BIN" --model-dir "$ROOT/examples/trivial" --route "$ROUTE" --port 0 \
  --workers 1 --loop-threads 1 --no-access-log
PING[ours]=$(measure /ping)
PREDICT[ours]=$(measure /predict "$WORK/predict.lua")
stop_all

for handler in def async; do
  start_server python3 "$ROOT/Tests/differential/wire_fastapi_app.py" --model-dir "$ROOT/examples/trivial" \
    --route "$ROUTE" --port 0 --handler "$handler" --loop uvloop --http httptools --no-access-log
  PING[fastapi-$handler]=$(measure /ping)
  PREDICT[fastapi-$handler]=$(measure /predict "$WORK/predict.lua")
  stop_all
done

PING[nginx]="n/a"
PREDICT[nginx]="-"
if command -v nginx >/dev/null; then
  PORT=$(free_port)
  start_nginx "$PORT" "location = /ping { default_type application/json; return 200 '{\"message\":\"pong\"}'; }"
  PING[nginx]=$(measure /ping)
  stop_all
fi

echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "wrk -t1 -c$CONNS -d${DURATION}s; server (and its Python worker) on CPU 0, wrk on CPU 1; requests/s"
printf "%-16s %12s %14s\n" "server" "GET /ping" "POST /predict"
for name in ours fastapi-def fastapi-async nginx; do
  printf "%-16s %12s %14s\n" "$name" "${PING[$name]}" "${PREDICT[$name]}"
done
echo
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }
echo "POST /predict  ours/fastapi-def:   $(ratio "${PREDICT[ours]}" "${PREDICT[fastapi-def]}")"
echo "POST /predict  ours/fastapi-async: $(ratio "${PREDICT[ours]}" "${PREDICT[fastapi-async]}")"
echo "GET /ping      ours/nginx:         $(ratio "${PING[ours]}" "${PING[nginx]}")"
