#!/usr/bin/env bash
# Prints loadgen's instructions per call (user space, counted by valgrind's callgrind) against nginx
# (`return 200 "ok"`, one worker pinned to CPU 0): the figure to compare across changes to loadgen's hot path on a
# shared, noisy machine, where the wall-clock ratio of loadgen-vs-wrk.sh moves by several percent between runs.
# One run per mode (RUN_SECONDS long): the instructions executed inside loadgen's event loop (`EventLoop.run`,
# inclusive: sockets, response parsing, the call machine, recording, timers) divided by the calls made. Start-up,
# the report and the progress thread are outside the loop, so the figure does not depend on how many calls the
# run managed (callgrind slows loadgen about 15-fold, more on a busy machine); repeat runs agree within about 1%.
# Modes: closed (N users without think time over N connections, as loadgen-vs-wrk.sh) and open (a constant
# 5,000/s over N connections, the arrival timers included).
# Usage: [RUN_SECONDS=5] Benchmarks/loadgen-instructions.sh [modes=closed,open] [connections=32] [loadgen binary]
set -euo pipefail
MODES=${1:-closed,open}
CONNS=${2:-32}
SECONDS_PER_RUN=${RUN_SECONDS:-5}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}
bench_init loadgen-instructions
require_tools nginx taskset valgrind
if [ -n "${3:-}" ]; then
  LOADGEN=$3
else
  echo "building loadgen (release)…"
  build_release "$ROOT" --product loadgen
  LOADGEN="$ROOT/.build/release/loadgen"
fi
start_nginx "$PORT" 'location / { return 200 "ok"; }'

# run MODE: prints "loop-instructions calls" of one run under callgrind.
run() {
  local load
  if [ "$1" = open ]; then
    load="{\"type\": \"constant-rate\", \"rate\": 5000, \"duration\": \"${SECONDS_PER_RUN}s\"}"
  else
    load="{\"type\": \"closed\", \"users\": $CONNS, \"duration\": \"${SECONDS_PER_RUN}s\", \"thinkTime\": \"0s\"}"
  fi
  cat > "$WORK/scenario.json" <<JSON
{"name": "loadgen-instructions", "target": {"url": "http://127.0.0.1:$PORT"},
 "requests": [{"route": "/", "method": "GET"}], "load": $load, "client": {"connections": $CONNS, "timeout": "5s"}}
JSON
  rm -f "$WORK/result.json"
  valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$LOADGEN" run "$WORK/scenario.json" --threads 1 --quiet --json "$WORK/result.json" >/dev/null 2>&1 || true
  [ -s "$WORK/result.json" ] || { echo "error: loadgen wrote no result ($1)" >&2; return 1; }
  local loop
  loop=$(callgrind_annotate --inclusive=yes "$WORK/callgrind.out" 2>/dev/null |
    awk '/EventLoopC3runyyF/ && !found { gsub(",", "", $1); print $1; found = 1 }')
  echo "$loop $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["calls"])' "$WORK/result.json")"
}

for mode in ${MODES//,/ }; do
  case "$mode" in closed|open) ;; *) echo "error: modes are closed and open (got $mode)" >&2; exit 2 ;; esac
  read -r instructions calls < <(run "$mode")
  [ -n "$instructions" ] && [ "${calls:-0}" -gt 0 ] || { echo "error: callgrind run failed ($mode)" >&2; exit 1; }
  printf '%-6s %3d connections  %6d instructions per call in the event loop  (%d calls)\n' \
    "$mode" "$CONNS" $(( instructions / calls )) "$calls"
done
