#!/usr/bin/env bash
# Prints loadgen's instructions per call (user space, counted by valgrind's callgrind) against nginx
# (`return 200 "ok"`, one worker pinned to CPU 0): the figure to compare across changes to loadgen's hot path on a
# shared, noisy machine, where the wall-clock ratio of loadgen-vs-wrk.sh moves by several percent between runs.
# Each mode runs twice, for SHORT and for twice SHORT seconds; the difference in instructions divided by the
# difference in calls removes start-up and shutdown. Under callgrind loadgen runs about 15 times slower than
# natively, so work done once per second (progress, packing a second's histogram) weighs about 15 times more
# here than in a real run: treat differences under 1-2% as noise.
# Modes: closed (N users without think time over N connections, as loadgen-vs-wrk.sh) and open (a constant
# 5,000/s over N connections, the arrival timers included).
# Usage: [SHORT=4] Benchmarks/loadgen-instructions.sh [modes=closed,open] [connections=32] [loadgen binary]
set -euo pipefail
MODES=${1:-closed,open}
CONNS=${2:-32}
SHORT=${SHORT:-4}
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

# run MODE SECONDS: prints "instructions calls" of one run under callgrind.
run() {
  local load
  if [ "$1" = open ]; then
    load="{\"type\": \"constant-rate\", \"rate\": 5000, \"duration\": \"${2}s\"}"
  else
    load="{\"type\": \"closed\", \"users\": $CONNS, \"duration\": \"${2}s\", \"thinkTime\": \"0s\"}"
  fi
  cat > "$WORK/scenario.json" <<JSON
{"name": "loadgen-instructions", "target": {"url": "http://127.0.0.1:$PORT"},
 "requests": [{"route": "/", "method": "GET"}], "load": $load, "client": {"connections": $CONNS, "timeout": "5s"}}
JSON
  local instructions
  instructions=$(valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$LOADGEN" run "$WORK/scenario.json" --threads 1 --quiet --json "$WORK/result.json" 2>&1 >/dev/null |
    awk '/Collected/ { print $4 }')
  [ -s "$WORK/result.json" ] || { echo "error: loadgen wrote no result ($1, $2 s)" >&2; return 1; }
  echo "$instructions $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["calls"])' "$WORK/result.json")"
}

for mode in ${MODES//,/ }; do
  case "$mode" in closed|open) ;; *) echo "error: modes are closed and open (got $mode)" >&2; exit 2 ;; esac
  read -r i1 n1 < <(run "$mode" "$SHORT")
  read -r i2 n2 < <(run "$mode" $((SHORT * 2)))
  [ -n "$i1" ] && [ -n "$i2" ] && [ "$n2" -gt "$n1" ] || { echo "error: callgrind runs failed ($mode)" >&2; exit 1; }
  printf '%-6s %3d connections  %6d instructions per call  (runs of %d and %d calls)\n' \
    "$mode" "$CONNS" $(( (i2 - i1) / (n2 - n1) )) "$n1" "$n2"
done
