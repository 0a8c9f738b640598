#!/usr/bin/env bash
# Compares loadgen's request rate with wrk's in a closed loop against the same nginx (`return 200`, one worker,
# access log off): the same connections and one request in flight per connection, as fast as possible: wrk
# `-tT -cN`, loadgen a closed loop of N users with no think time over N keep-alive connections (which is what wrk
# does) on T event-loop threads (`loadgen run --threads T`).
#
# For each connection count it runs ROUNDS (default 5) paired rounds: in each round both clients run once, one
# after the other, and which goes first alternates (wrk first in odd rounds), so a drift of the machine hits both
# alike. Each round prints both rates and the ratio loadgen/wrk; then, per connection count, the median of the
# rounds' ratios with its min–max range and both clients' median rates. The figure to quote is that median ratio
# (goal: ≥ 1.05 at 32 and at 256 connections), not the best round. Each run also measures the client's CPU time
# (user + system, GNU time) per request, and each connection count the median ratio of loadgen's to wrk's: what
# each client costs for the same work, a figure a busy host moves much less than the rates. Each run also shows
# how busy nginx's worker was (its CPU time over the client's wall time, start-up included): near 100% the
# server, not the client, set that run's rate, and a faster client cannot show it.
#
# THREADS picks the mode (a comma list runs each):
#   1 (default)  nginx pinned to CPU 0; wrk -t1 and loadgen --threads 1 pinned to CPU 1.
#   2            nothing pinned (nginx, wrk -t2, loadgen --threads 2 share both cores).
#   1,2          both, then per connection count and client the scaling factor from one thread to two
#                (median rate with 2 threads / median rate with 1); nginx is restarted for each mode.
# A client's non-2xx answers, socket errors, failed or not-sent calls are printed as notes. A benchmark prints
# figures; it never fails a test.
# Usage: [ROUNDS=5] [THREADS=1|2|1,2] [PORT=free port] Benchmarks/loadgen-vs-wrk.sh [seconds=3] [connections=32,256]
set -euo pipefail
DURATION=${1:-3}
CONNS_LIST=${2:-32,256}
ROUNDS=${ROUNDS:-5}
THREADS=${THREADS:-1}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}  # a fixed port could be held by another benchmark
bench_init loadgen-vs-wrk
require_tools wrk nginx taskset
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time (GNU time) is not installed" >&2; exit 1; }

IFS=, read -r -a CONNS_ALL <<<"$CONNS_LIST"
IFS=, read -r -a THREADS_ALL <<<"$THREADS"
for t in "${THREADS_ALL[@]}"; do
  case "$t" in 1|2) ;; *) echo "error: THREADS takes 1, 2 or 1,2 (got $THREADS)" >&2; exit 2 ;; esac
done
for c in "${CONNS_ALL[@]}"; do
  [[ "$c" =~ ^[0-9]+$ ]] && [ "$c" -ge 2 ] || { echo "error: connections must be numbers ≥ 2 (got $CONNS_LIST)" >&2; exit 2; }
done
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || { echo "error: ROUNDS must be 1 to 50" >&2; exit 2; }

echo "building loadgen (release)…"
build_release "$ROOT" --product loadgen
LOADGEN="$ROOT/.build/release/loadgen"
URL="http://127.0.0.1:$PORT/"

for c in "${CONNS_ALL[@]}"; do
  cat > "$WORK/scenario-$c.json" <<JSON
{
  "name": "loadgen-vs-wrk",
  "target": {"url": "http://127.0.0.1:$PORT"},
  "requests": [{"route": "/", "method": "GET"}],
  "load": {"type": "closed", "users": $c, "duration": "${DURATION}s", "thinkTime": "0s"},
  "client": {"connections": $c, "timeout": "5s"}
}
JSON
done

CLIENT=()  # the prefix that pins a client (empty: unpinned)

# nginx_ticks: the CPU time (user + system, clock ticks) nginx's worker has used so far.
nginx_ticks() { awk '{ print $14 + $15 }' "/proc/$NGINX_WORKER/stat" 2>/dev/null || echo 0; }

# nginx_busy TICKS-BEFORE: writes to WORK/nginx-busy nginx's worker's CPU share (%) over the client run just
# measured (its wall time from WORK/measure.txt).
nginx_busy() {
  awk -v before="$1" -v after="$(nginx_ticks)" -v hz="$(getconf CLK_TCK)" \
    '{ wall = $6 } END { printf "%.0f\n", (wall > 0 ? (after - before) / hz / wall * 100 : 0) }' \
    "$WORK/measure.txt" > "$WORK/nginx-busy" 2>/dev/null || echo 0 > "$WORK/nginx-busy"
}

# run_wrk THREADS CONNS [SECONDS]: prints wrk's requests/s (notes about errors go to stderr) and writes its CPU
# time per request in µs (user + system, from lib.sh's measure_process) to WORK/cpu, nginx's share to
# WORK/nginx-busy.
run_wrk() {
  local out before
  before=$(nginx_ticks)
  out=$(measure_process "$WORK/measure.txt" "${CLIENT[@]}" wrk -t"$1" -c"$2" -d"${3:-$DURATION}s" "$URL" 2>&1) || true
  nginx_busy "$before"
  grep -E 'Non-2xx|Socket errors' <<<"$out" | sed 's/^ */  note: wrk: /' >&2 || true
  cpu_per_request "$(awk '/requests in/ {print $1}' <<<"$out")"
  awk '/Requests\/sec/ {print $2; found=1} END {if (!found) print 0}' <<<"$out"
}

# run_loadgen THREADS CONNS: prints loadgen's throughput_rps (notes about failed or unsent calls go to stderr)
# and writes its CPU time per call in µs to WORK/cpu and nginx's share to WORK/nginx-busy, as run_wrk does
# (start-up and the report included).
run_loadgen() {
  local before
  rm -f "$WORK/result.json"
  before=$(nginx_ticks)
  measure_process "$WORK/measure.txt" "${CLIENT[@]}" "$LOADGEN" run "$WORK/scenario-$2.json" --threads "$1" \
    --quiet --json "$WORK/result.json" >/dev/null 2>"$WORK/loadgen.err" || true
  nginx_busy "$before"
  cpu_per_request "$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["calls"])' "$WORK/result.json" 2>/dev/null)"
  python3 - "$WORK/result.json" <<'PY' || { echo 0; sed 's/^/  note: loadgen: /' "$WORK/loadgen.err" | tail -3 >&2; }
import json, sys
r = json.load(open(sys.argv[1]))
if r["failed"] or r["not_sent"]["total"]:
    print("  note: loadgen: %d failed, %d not sent %s" % (r["failed"], r["not_sent"]["total"], r["not_sent"]["by_reason"]),
          file=sys.stderr)
print("%.2f" % r["throughput_rps"])
PY
}

# cpu_per_request REQUESTS: writes the CPU seconds measure_process wrote to WORK/measure.txt divided by REQUESTS,
# in µs, to WORK/cpu (0 when either is missing).
cpu_per_request() {
  awk -v n="${1:-0}" '{ cpu = $1 } END { printf "%.3f\n", (n > 0 ? cpu * 1e6 / n : 0) }' \
    "$WORK/measure.txt" > "$WORK/cpu" 2>/dev/null || echo 0 > "$WORK/cpu"
}

declare -A MED_WRK MED_LG SUMMARY
for t in "${THREADS_ALL[@]}"; do
  stop_all
  if [ "$t" = 1 ]; then
    NGINX_UNPINNED=0
    CLIENT=(taskset -c 1)
    MODE="nginx on CPU 0 (1 worker, return 200); wrk -t1 and loadgen --threads 1 on CPU 1"
  else
    NGINX_UNPINNED=1
    CLIENT=()
    MODE="nothing pinned: nginx (1 worker, return 200), wrk -t2 and loadgen --threads 2 share both cores"
  fi
  start_nginx "$PORT" 'location / { return 200 "ok"; }'
  NGINX_WORKER=$(pgrep -P "${PIDS[-1]}" | head -1)
  echo "== $MODE; ${DURATION}s per run, $ROUNDS paired rounds"
  for c in "${CONNS_ALL[@]}"; do
    run_wrk "$t" "$c" 1 >/dev/null 2>&1  # warm nginx up (not measured)
    WRK_ALL=()
    LG_ALL=()
    RATIOS=()
    CPU_RATIOS=()
    for round in $(seq 1 "$ROUNDS"); do
      if [ $((round % 2)) = 1 ]; then
        first=wrk
        w=$(run_wrk "$t" "$c"); wc=$(cat "$WORK/cpu"); wn=$(cat "$WORK/nginx-busy")
        l=$(run_loadgen "$t" "$c"); lc=$(cat "$WORK/cpu"); ln=$(cat "$WORK/nginx-busy")
      else
        first=loadgen
        l=$(run_loadgen "$t" "$c"); lc=$(cat "$WORK/cpu"); ln=$(cat "$WORK/nginx-busy")
        w=$(run_wrk "$t" "$c"); wc=$(cat "$WORK/cpu"); wn=$(cat "$WORK/nginx-busy")
      fi
      r=$(awk -v a="$l" -v b="$w" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
      cr=$(awk -v a="$lc" -v b="$wc" 'BEGIN { printf "%.3f", (b > 0 ? a / b : 0) }')
      WRK_ALL+=("$w")
      LG_ALL+=("$l")
      RATIOS+=("$r")
      CPU_RATIOS+=("$cr")
      printf 'threads %s, %4s connections, round %d (%s first): wrk %10.0f req/s, loadgen %10.0f req/s, ratio %s; CPU per request wrk %.2f µs, loadgen %.2f µs; nginx busy %s%% / %s%%\n' \
        "$t" "$c" "$round" "$first" "$w" "$l" "$r" "$wc" "$lc" "$wn" "$ln"
    done
    MED_WRK[$t,$c]=$(median "${WRK_ALL[@]}")
    MED_LG[$t,$c]=$(median "${LG_ALL[@]}")
    lo=$(printf '%s\n' "${RATIOS[@]}" | sort -g | head -1)
    hi=$(printf '%s\n' "${RATIOS[@]}" | sort -g | tail -1)
    SUMMARY[$t,$c]=$(printf 'threads %s  %4s connections  median ratio loadgen/wrk %.3f (range %.3f–%.3f, %d rounds)  median wrk %.0f req/s, loadgen %.0f req/s; CPU per request loadgen/wrk %.3f (median)' \
      "$t" "$c" "$(median "${RATIOS[@]}")" "$lo" "$hi" "$ROUNDS" "${MED_WRK[$t,$c]}" "${MED_LG[$t,$c]}" "$(median "${CPU_RATIOS[@]}")")
    echo "${SUMMARY[$t,$c]}"
  done
done

echo
echo "summary (${DURATION}s runs; median over paired rounds):"
for t in "${THREADS_ALL[@]}"; do
  for c in "${CONNS_ALL[@]}"; do echo "${SUMMARY[$t,$c]}"; done
done
if [ -n "${MED_WRK[1,${CONNS_ALL[0]}]:-}" ] && [ -n "${MED_WRK[2,${CONNS_ALL[0]}]:-}" ]; then
  echo "scaling from 1 thread (pinned, 1 client core) to 2 (unpinned, 2 cores shared with nginx), median rates:"
  for c in "${CONNS_ALL[@]}"; do
    awk -v c="$c" -v w1="${MED_WRK[1,$c]}" -v w2="${MED_WRK[2,$c]}" -v l1="${MED_LG[1,$c]}" -v l2="${MED_LG[2,$c]}" \
      'BEGIN { printf "%4s connections  wrk %.2fx (%.0f -> %.0f req/s)  loadgen %.2fx (%.0f -> %.0f req/s)\n",
               c, (w1 > 0 ? w2 / w1 : 0), w1, w2, (l1 > 0 ? l2 / l1 : 0), l1, l2 }'
  done
fi
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) (on a shared machine the figures are indicative)"
