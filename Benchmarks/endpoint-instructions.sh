#!/usr/bin/env bash
# Prints the reference endpoint's instructions per request (user space, counted by valgrind's callgrind) on
# POST /predict of examples/trivial (`{"x": 1}`, Content-Type application/json), served by one event-loop thread
# and one Python worker: the figure to compare across changes to the endpoint's request path on a shared, noisy
# machine, where requests/s move by several percent between runs. The endpoint runs under callgrind pinned to
# CPU 0 (its Python worker is a child process, not traced, so not counted), wrk on CPU 1 with N connections.
# After a 2 s warm-up the counters are zeroed (`callgrind_control -z`), wrk runs RUN_SECONDS, and the
# instructions of every thread of the endpoint process (the dump's PROGRAM TOTALS) are divided by the requests
# served in between (`served` of GET /stats before and after; the two GET /stats are counted too, a negligible
# share). Callgrind slows the endpoint about 30-fold; repeat runs agree within about 1%.
# KEEP_DUMP=FILE copies the (last run's) dump there, for callgrind_annotate --tree=caller and the like.
# Usage: [RUN_SECONDS=4] [KEEP_DUMP=FILE] Benchmarks/endpoint-instructions.sh [connections=32] [runs=1] [endpoint binary]
set -euo pipefail
CONNS=${1:-32}
RUNS=${2:-1}
SECONDS_PER_RUN=${RUN_SECONDS:-4}
source "$(dirname "$0")/lib.sh"
bench_init endpoint-instructions
require_tools wrk taskset valgrind callgrind_control callgrind_annotate curl python3
if [ -n "${3:-}" ]; then
  BIN=$3
else
  echo "building reference-endpoint (release)…"
  build_release "$ROOT" --product reference-endpoint
  BIN="$ROOT/.build/release/reference-endpoint"
fi
write_predict_lua
# wrk writes the header fields in Lua table order, which changes from run to run (Host first in one, last in
# the next), and the endpoint's Content-Type lookup walks the fields before it: up to ~200 instructions per
# request apart. So this script sends the same bytes every run, Host first as most clients do (a request()
# function: wrk then calls Lua per request, which costs only wrk's core).
cat >> "$WORK/predict.lua" <<'LUA'
local raw
function init(args)
  raw = "POST /predict HTTP/1.1\r\nHost: " .. wrk.headers["Host"] .. "\r\nContent-Type: application/json\r\n"
    .. "Content-Length: " .. #wrk.body .. "\r\n\r\n" .. wrk.body
end
function request() return raw end
LUA

# served: prints the endpoint's `served` counter (GET /stats).
served() {
  curl -sf --max-time 30 "http://127.0.0.1:$PORT/stats" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["served"])'
}

# run: prints "instructions requests" of one run of the endpoint under callgrind.
run() {
  rm -f "$WORK"/callgrind.out*
  taskset -c 0 valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$BIN" --model-dir "$ROOT/examples/trivial" --routes-file "$ROOT/examples/trivial/routes.json" \
    --workers 1 --loop-threads 1 --no-access-log --port 0 >"$WORK/server.out" 2>"$WORK/server.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for_endpoint "$pid" "the endpoint under callgrind"
  taskset -c 1 wrk -t1 -c"$CONNS" -d2s -s "$WORK/predict.lua" "http://127.0.0.1:$PORT/predict" >/dev/null
  callgrind_control -z "$pid" >/dev/null 2>&1
  local before after
  before=$(served)
  taskset -c 1 wrk -t1 -c"$CONNS" -d"${SECONDS_PER_RUN}s" -s "$WORK/predict.lua" \
    "http://127.0.0.1:$PORT/predict" >"$WORK/wrk.out"
  after=$(served)
  callgrind_control -d "$pid" >/dev/null 2>&1
  local dump=""
  for _ in $(seq 1 300); do
    dump=$(ls "$WORK"/callgrind.out.* 2>/dev/null | head -1)
    [ -n "$dump" ] && break
    sleep 0.1
  done
  [ -n "$dump" ] || { echo "error: callgrind wrote no dump" >&2; return 1; }
  sleep 1 # the dump is written in one go once it exists, but give it time to finish
  stop_all
  if [ -n "${KEEP_DUMP:-}" ]; then cp "$dump" "$KEEP_DUMP"; fi
  local total
  total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')
  if grep -q "Non-2xx\|Socket errors" "$WORK/wrk.out"; then
    grep "Non-2xx\|Socket errors" "$WORK/wrk.out" | sed 's/^ */wrk: /' >&2
  fi
  echo "$total $((after - before))"
}

for round in $(seq 1 "$RUNS"); do
  read -r instructions requests < <(run)
  [ -n "$instructions" ] && [ "${requests:-0}" -gt 0 ] || { echo "error: callgrind run failed" >&2; exit 1; }
  printf 'run %d  %3d connections  %6d instructions per request  (%d requests)\n' \
    "$round" "$CONNS" $((instructions / requests)) "$requests"
done
