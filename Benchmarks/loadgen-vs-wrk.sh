#!/usr/bin/env bash
# Compares loadgen's request rate with wrk's against the same nginx (`return 200`, one worker, access log off).
# nginx is pinned to CPU 0; wrk and then loadgen to CPU 1, each with the same connections and one request in
# flight per connection, as fast as possible: wrk `-t1 -cN`, loadgen a closed loop of N users with no think time
# over N keep-alive connections (which is what wrk does). Prints both rates and the ratio loadgen/wrk.
# The two clients alternate for ROUNDS rounds (default 3) and the best round of each is compared, since the machine
# may be shared. A benchmark prints figures; it never fails a test.
# Usage: [ROUNDS=3] [PORT=free port] Benchmarks/loadgen-vs-wrk.sh [duration-seconds=10] [connections=64]
set -euo pipefail
DURATION=${1:-10}
CONNS=${2:-64}
ROUNDS=${ROUNDS:-3}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}  # a fixed port could be held by another benchmark
bench_init loadgen-vs-wrk
require_tools wrk nginx taskset

echo "building loadgen (release)…"
build_release "$ROOT" --product loadgen
LOADGEN="$ROOT/.build/release/loadgen"

start_nginx "$PORT" 'location / { return 200 "ok"; }'

cat > "$WORK/scenario.json" <<JSON
{
  "name": "loadgen-vs-wrk",
  "target": {"url": "http://127.0.0.1:$PORT"},
  "requests": [{"route": "/", "method": "GET"}],
  "load": {"type": "closed", "users": $CONNS, "duration": "${DURATION}s", "thinkTime": "0s"},
  "client": {"connections": $CONNS, "timeout": "5s"}
}
JSON

# Warm nginx up once (not measured).
wrk_rps -t1 -c"$CONNS" -d1s "http://127.0.0.1:$PORT/" >/dev/null

WRK_ALL=()
LOADGEN_ALL=()
for round in $(seq 1 "$ROUNDS"); do
  WRK_ALL+=("$(wrk_rps -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$PORT/")")
  rm -f "$WORK/result.json"
  taskset -c 1 "$LOADGEN" run "$WORK/scenario.json" --quiet --json "$WORK/result.json" || true
  LOADGEN_ALL+=("$(python3 -c 'import json, sys; print("%.2f" % json.load(open(sys.argv[1]))["throughput_rps"])' \
    "$WORK/result.json" 2>/dev/null || echo 0)")
  echo "round $round: wrk ${WRK_ALL[-1]} req/s, loadgen ${LOADGEN_ALL[-1]} req/s"
done
best() { printf '%s\n' "$@" | sort -g | tail -1; }
WRK_RPS=$(best "${WRK_ALL[@]}")
LOADGEN_RPS=$(best "${LOADGEN_ALL[@]}")

echo "nginx on CPU 0 (1 worker, return 200); clients on CPU 1; $CONNS connections, ${DURATION}s each"
echo "best of $ROUNDS rounds:"
echo "wrk -t1 -c$CONNS -d${DURATION}s:             $WRK_RPS req/s"
echo "loadgen closed loop, $CONNS users, think 0s: $LOADGEN_RPS req/s"
if [ -n "$WRK_RPS" ] && [ -n "$LOADGEN_RPS" ]; then
  awk -v a="$LOADGEN_RPS" -v b="$WRK_RPS" 'BEGIN { printf "ratio loadgen/wrk: %.2f\n", a / b }'
fi
echo "(machine shared with other work: figures are indicative)"
