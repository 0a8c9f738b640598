#!/usr/bin/env bash
# loadgen's memory: its peak RSS with many open connections, and as the number of recorded latencies grows
# (latencies go into histograms, so the second must stay flat). Against nginx (`return 200`, one worker, access
# log off, pinned to CPU 0); loadgen `--threads 1` on CPU 1. Peak RSS is GNU time's maximum resident set size
# of the loadgen process (exact, at its exit); open connections are the most file descriptors it had open
# (/proc/PID/fd, sampled every 0.1 s).
#
# 1. Connections: a closed loop of CONNECTIONS users (default 10000) over as many connections, each user
#    thinking THINK (default 1s) between calls, for HOLD (default 5s): every user calls at once at the start,
#    so every connection is opened, and keep-alive holds them. The same with BASE (default 100) users and
#    connections; (peak RSS difference) / (difference in connections) is the RSS per connection (its user's
#    state included). The open-file limit is raised to the hard limit, and nginx gets worker_connections to
#    match; with a hard limit too low for CONNECTIONS, CONNECTIONS is lowered and the script says so.
# 2. Latencies: a closed loop of 64 users with no think time over 64 connections (LAT_CONNS), first for 2 s to
#    measure its rate R, then once for each N in SIZES (millions of calls, default 1,2,4) for N / R seconds
#    (at most MAX_SECONDS, default 60). Each run prints the latencies recorded (`latency_ms.count`), its
#    duration and peak RSS; then the RSS growth per 1 M recorded latencies between the smallest and the
#    largest run (flat: about 0). A longer run also has more one-second time-series points, so any growth
#    per second of run is inside that figure too.
# With the defaults it takes about 1.5–2.5 minutes after the build. A benchmark prints figures; it never fails
# a test.
# Usage: [CONNECTIONS=10000] [BASE=100] [THINK=1s] [HOLD=5s] [SIZES=1,2,4] [LAT_CONNS=64] [MAX_SECONDS=60]
#        [PORT=free port] Benchmarks/loadgen-memory.sh
set -euo pipefail
CONNECTIONS=${CONNECTIONS:-10000}
BASE=${BASE:-100}
THINK=${THINK:-1s}
HOLD=${HOLD:-5s}
SIZES=${SIZES:-1,2,4}
LAT_CONNS=${LAT_CONNS:-64}
MAX_SECONDS=${MAX_SECONDS:-60}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}  # a fixed port could be held by another benchmark
bench_init loadgen-memory
require_tools nginx taskset
[ -x /usr/bin/time ] || { echo "GNU time (/usr/bin/time) not installed; skipping"; exit 0; }

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LIMIT=$(ulimit -n)
if [ "$LIMIT" != unlimited ] && [ "$CONNECTIONS" -gt $((LIMIT - 256)) ]; then
  echo "note: the open-file limit is $LIMIT (hard limit): CONNECTIONS lowered from $CONNECTIONS to $((LIMIT - 256))"
  CONNECTIONS=$((LIMIT - 256))
fi

echo "building loadgen (release)…"
build_release "$ROOT" --product loadgen
LOADGEN="$ROOT/.build/release/loadgen"

NGINX_CONNECTIONS=$((CONNECTIONS + 256)) start_nginx "$PORT" 'location / { return 200 "ok"; }'

# closed_scenario FILE USERS THINK DURATION: a closed loop of USERS users over as many connections.
closed_scenario() {
  cat > "$1" <<JSON
{
  "name": "loadgen-memory",
  "target": {"url": "http://127.0.0.1:$PORT"},
  "requests": [{"route": "/", "method": "GET"}],
  "load": {"type": "closed", "users": $2, "duration": "$4", "thinkTime": "$3"},
  "client": {"connections": $2, "timeout": "30s"}
}
JSON
}

# measured_run SCENARIO: runs loadgen on it and prints `calls recorded failed not_sent peak_rss_kib max_fds
# cpu_s wall_s rate`.
measured_run() {
  rm -f "$WORK/result.json"
  measure_process "$WORK/measure.txt" taskset -c 1 "$LOADGEN" run "$1" --threads 1 --quiet \
    --json "$WORK/result.json" >/dev/null 2>"$WORK/loadgen.err" || true
  python3 - "$WORK/result.json" "$WORK/measure.txt" <<'PY' || { sed 's/^/  loadgen: /' "$WORK/loadgen.err" | tail -3 >&2; echo "0 0 0 0 0 0 0 0 0"; }
import json, sys
cpu, _, _, rss, fds, wall = open(sys.argv[2]).read().split()
r = json.load(open(sys.argv[1]))
recorded = (r.get("latency_ms") or {}).get("count") or 0
print(r["calls"], recorded, r["failed"], r["not_sent"]["total"], rss, fds, cpu, wall, "%.0f" % r["throughput_rps"])
PY
}

echo
echo "== 1. open connections: closed loop, think time $THINK, $HOLD; nginx on CPU 0, loadgen on CPU 1"
printf '%12s %9s %7s %8s %13s %12s %7s\n' connections calls failed not-sent "peak RSS KiB" "open fds" "cpu s"
declare -A RSS
for n in "$BASE" "$CONNECTIONS"; do
  closed_scenario "$WORK/conns-$n.json" "$n" "$THINK" "$HOLD"
  read -r calls _ failed not_sent rss fds cpu _ _ < <(measured_run "$WORK/conns-$n.json")
  RSS[$n]=$rss
  printf '%12s %9s %7s %8s %13s %12s %7s\n' "$n" "$calls" "$failed" "$not_sent" "$rss" "$fds" "$cpu"
done
awk -v a="${RSS[$BASE]}" -v b="${RSS[$CONNECTIONS]}" -v na="$BASE" -v nb="$CONNECTIONS" 'BEGIN {
  printf "peak RSS with %d connections: %.1f MiB; per connection (vs %d): %.0f bytes\n",
    nb, b / 1024, na, (b - a) * 1024 / (nb - na) }'

echo
echo "== 2. recorded latencies: closed loop of $LAT_CONNS users, no think time; nginx on CPU 0, loadgen on CPU 1"
closed_scenario "$WORK/probe.json" "$LAT_CONNS" 0s 2s
read -r _ _ _ _ probe_rss _ _ _ RATE < <(measured_run "$WORK/probe.json")
echo "probe: 2 s at $RATE calls/s, peak RSS $probe_rss KiB"
if [ "${RATE%.*}" -le 0 ]; then echo "the probe measured no rate; stopping"; exit 0; fi
printf '%10s %9s %12s %8s %13s %7s\n' "target" "seconds" "recorded" "calls/s" "peak RSS KiB" "cpu s"
IFS=, read -r -a SIZES_ALL <<<"$SIZES"
FIRST=""
LAST=""
for m in "${SIZES_ALL[@]}"; do
  seconds=$(awk -v m="$m" -v r="$RATE" -v cap="$MAX_SECONDS" 'BEGIN { s = int(m * 1e6 / r + 0.999); if (s < 1) s = 1; if (s > cap) s = cap; print s }')
  closed_scenario "$WORK/lat.json" "$LAT_CONNS" 0s "${seconds}s"
  read -r _ recorded _ _ rss _ cpu _ rate < <(measured_run "$WORK/lat.json")
  printf '%9sM %9s %12s %8s %13s %7s\n' "$m" "$seconds" "$recorded" "$rate" "$rss" "$cpu"
  [ -n "$FIRST" ] || FIRST="$recorded $rss"
  LAST="$recorded $rss"
done
read -r n1 r1 <<<"$FIRST"
read -r n2 r2 <<<"$LAST"
awk -v n1="$n1" -v r1="$r1" -v n2="$n2" -v r2="$r2" 'BEGIN {
  if (n2 > n1) printf "RSS growth per 1 M recorded latencies (%d -> %d): %.1f KiB (%d -> %d KiB)\n", n1, n2, (r2 - r1) / (n2 - n1) * 1e6, r1, r2
  else print "the runs recorded no more latencies from the smallest to the largest; no slope" }'
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) (on a shared machine the figures are indicative)"
