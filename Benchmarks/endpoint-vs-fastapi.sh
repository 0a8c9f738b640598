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
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/endpoint-bench.XXXXXX)
SERVER_PID=""
stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}
cleanup() { stop_server; rm -rf "$WORK"; }
trap cleanup EXIT

for tool in wrk taskset python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is not installed" >&2; exit 1; }
done
python3 -c "import fastapi, uvicorn, uvloop, httptools" 2>/dev/null \
  || { echo "error: FastAPI peer missing: pip install -r $ROOT/requirements-bench.txt" >&2; exit 1; }

ROUTE='{"verb": "POST", "path": "/predict", "file": "predict", "function": "predict", "positional": true, "body": [{"name": "x", "type": "int"}]}'
cat > "$WORK/predict.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"x": 1}'
wrk.headers["Content-Type"] = "application/json"
LUA

echo "building release…"
(cd "$ROOT" && swift build -c release >"$WORK/build.log" 2>&1) || { tail -30 "$WORK/build.log"; exit 1; }
BIN="$ROOT/.build/release/reference-endpoint"

# Starts "$@" pinned to CPU 0, waits (at most 120 s) for its "Endpoint is running at: http://H:P" line and
# sets PORT.
start_server() {
  taskset -c 0 "$@" >"$WORK/server.out" 2>"$WORK/server.err" &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 1200); do
    PORT=$(sed -n 's|^Endpoint is running at: http://[^:]*:\([0-9]*\)$|\1|p' "$WORK/server.out" | head -1)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$PORT" ]; then echo "error: server did not start: $*" >&2; cat "$WORK/server.err" >&2; exit 1; fi
}

# wrk on CPU 1 against http://127.0.0.1:PORT$1 (optionally with a Lua script $2): prints req/s and, on
# stderr, any non-2xx/3xx count or socket errors.
measure() {
  local path=$1 script=${2:-} out
  local args=(-t1 -c"$CONNS" -d"${DURATION}s")
  [ -n "$script" ] && args+=(-s "$script")
  local warm=(-t1 -c"$CONNS" -d2s)
  [ -n "$script" ] && warm+=(-s "$script")
  taskset -c 1 wrk "${warm[@]}" "http://127.0.0.1:$PORT$path" >/dev/null  # warm-up
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
stop_server

for handler in def async; do
  start_server python3 "$ROOT/Tests/differential/wire_fastapi_app.py" --model-dir "$ROOT/examples/trivial" \
    --route "$ROUTE" --port 0 --handler "$handler" --loop uvloop --http httptools --no-access-log
  PING[fastapi-$handler]=$(measure /ping)
  PREDICT[fastapi-$handler]=$(measure /predict "$WORK/predict.lua")
  stop_server
done

PING[nginx]="n/a"
PREDICT[nginx]="-"
if command -v nginx >/dev/null; then
  NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  mkdir -p "$WORK/nginx/logs"
  cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $WORK/nginx/logs/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location = /ping { default_type application/json; return 200 '{"message":"pong"}'; }
  }
}
CONF
  taskset -c 0 nginx -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx/nginx.conf" &
  SERVER_PID=$!
  PORT=$NGINX_PORT
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
    sleep 0.1
  done
  PING[nginx]=$(measure /ping)
  stop_server
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
