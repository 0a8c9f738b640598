#!/usr/bin/env bash
# loadgen's open loop at full speed: the highest constant rate loadgen holds within 1% of its schedule against
# nginx (`return 200`, one worker, access log off, pinned to CPU 0), compared with wrk's closed-loop rate on the
# same connections (goal: ≥ 0.9× wrk), and loadgen's own CPU time per request at that rate.
#
# The search is over the fraction x of wrk's rate, and each step is ROUNDS (default 5) paired rounds: first wrk's
# closed-loop rate W now (`wrk -t1 -cN` on CPU 1, the same seconds), then loadgen (`--threads 1`, CPU 1) running a
# `constant-rate` scenario at x×W over N connections for the given seconds after a 1 s warmup at the same rate
# (WARMUP; warmup calls count in no figure). Pairing matters on a shared VM: its speed drifts by tens of percent
# from one minute to the next (wrk alone measured 114k, then 143k, then 113k req/s within ten minutes), so a W
# measured once at the start made the answer swing between 0.78 and 1.20 on one build. Repeating matters too: at
# the edge loadgen's core is nearly busy, so one stall of the host (a few ms of steal) makes thousands of calls
# late in one round; a step is decided by the median round, not by one. x starts at LOW and HIGH (defaults 0.7
# and 1.1), then STEPS (default 5) bisection steps between the highest x that held and the lowest that did not
# (0.4 / 2^5: about 0.0125). If LOW does not hold, up to two more steps halve it.
#
# "Held within 1% of schedule": of the calls the schedule planned (`calls` in the JSON, rate × seconds), at
# least 99% were sent on time and succeeded. A planned call is a miss when it was
#   - not sent, whatever the reason (`not_sent.by_reason`: `generator_behind` = started more than 100 ms after
#     it was due, `client_queue_full`, …);
#   - failed (a status or error: it did not do the work asked); or
#   - late: it was sent more than LATE_MS (default 10 ms) after it was due: the JSON's `histograms.send_lag`
#     (per sent call, intended start → first send, exact to 0.1%), whether the generator ran behind or the
#     call waited for a free connection. A slow answer does not make a call late.
# A round holds when misses ≤ 1% of planned calls, and a step holds when its median round's misses do (so at
# least half of the rounds held). Each round's row shows the misses by kind, the generator's largest lag, p99 of
# latency and service time, and loadgen's CPU time (user + system, GNU time, whole process including start-up
# and the warmup) per request sent (warmup included) and as a share of one core; each step's row the median
# misses, the median W and rate, and the median CPU µs per request.
#
# The answer is the highest x that held (the goal's ratio), the medians of that step (W, rate, misses), and
# loadgen's median CPU µs per request in it. A benchmark prints figures; it never fails a test.
# Usage: [ROUNDS=5] [STEPS=5] [LOW=0.7] [HIGH=1.1] [LATE_MS=10] [WARMUP=1s] [PORT=free port]
#        Benchmarks/loadgen-open-loop.sh [seconds=3] [connections=64]
set -euo pipefail
DURATION=${1:-3}
CONNS=${2:-64}
ROUNDS=${ROUNDS:-5}
STEPS=${STEPS:-5}
LOW=${LOW:-0.7}
HIGH=${HIGH:-1.1}
LATE_MS=${LATE_MS:-10}
WARMUP=${WARMUP:-1s}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}  # a fixed port could be held by another benchmark
bench_init loadgen-open-loop
require_tools wrk nginx taskset
[ "$STEPS" -ge 0 ] && [ "$STEPS" -le 20 ] || { echo "error: STEPS must be 0 to 20" >&2; exit 2; }
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 15 ] || { echo "error: ROUNDS must be 1 to 15" >&2; exit 2; }

echo "building loadgen (release)…"
build_release "$ROOT" --product loadgen
LOADGEN="$ROOT/.build/release/loadgen"

start_nginx "$PORT" 'location / { return 200 "ok"; }'
echo "nginx on CPU 0 (1 worker, return 200); wrk and loadgen on CPU 1; $CONNS connections, ${DURATION}s per run"

wrk_rps -t1 -c"$CONNS" -d1s "http://127.0.0.1:$PORT/" >/dev/null  # warm nginx up (not measured)

# round X: one paired round: measures wrk's rate W now, runs loadgen at X×W calls/s and prints the round's
# row. Appends "W rate misses% cpu-µs" to WORK/rounds (misses 100 when loadgen wrote no result); returns 2 if
# wrk measured nothing.
STEP=0
round() {
  local x=$1 row rate W figures misses
  W=$(wrk_rps -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$PORT/")
  if ! awk -v w="$W" 'BEGIN { exit !(w > 0) }'; then echo "step $STEP: wrk measured nothing"; return 2; fi
  rate=$(awk -v w="$W" -v x="$x" 'BEGIN { printf "%d", w * x }')
  cat > "$WORK/scenario.json" <<JSON
{
  "name": "loadgen-open-loop",
  "target": {"url": "http://127.0.0.1:$PORT"},
  "requests": [{"route": "/", "method": "GET"}],
  "load": {"type": "constant-rate", "rate": $rate, "duration": "${DURATION}s"},
  "warmup": "$WARMUP",
  "client": {"connections": $CONNS, "timeout": "5s"}
}
JSON
  rm -f "$WORK/result.json"
  measure_process "$WORK/measure.txt" taskset -c 1 "$LOADGEN" run "$WORK/scenario.json" --threads 1 --quiet \
    --json "$WORK/result.json" >/dev/null 2>"$WORK/loadgen.err" || true
  row=$(python3 - "$WORK/result.json" "$WORK/measure.txt" "$rate" "$W" "$LATE_MS" "$STEP" <<'PY'
import json, sys
path, measure, rate, w, late_ms, step = sys.argv[1:]
cpu, _, _, _, _, wall = (float(x) for x in open(measure).read().split())
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print("%s %s 100 0\t%4s %9.0f %9.0f %5.3f  loadgen wrote no result" % (w, rate, step, float(w), float(rate), float(rate) / float(w)))
    sys.exit()
planned = r["calls"]
not_sent = r["not_sent"]["total"]
late_us = float(late_ms) * 1000
hist = r["histograms"]["send_lag"]
late = sum(count for value, count in hist["counts"] if value > late_us)
misses = not_sent + r["failed"] + late
on_time = (planned - misses) / planned if planned else 0
requests = r["attempts"] + r["warmup_calls"]
cpu_us = cpu / requests * 1e6 if requests else 0
reasons = ",".join("%s %d" % kv for kv in sorted(r["not_sent"]["by_reason"].items())) or "-"
def ms(block, key):
    v = (r.get(block) or {}).get(key)
    return "%8.2f" % v if v is not None else "       -"
print("%s %s %.4f %.2f\t%4s %9.0f %9.0f %5.3f %9d %7.2f%% %9d %7d %6d  %8.1f %s %s  %6.2f %6.2f %6.0f%%   %s" % (
    w, rate, 100 * misses / planned if planned else 100, cpu_us, step, float(w), float(rate), float(rate) / float(w), planned, 100 * on_time,
    not_sent, late,
    r["failed"], r["generator_lag_max_ms"], ms("latency_ms", "p99"), ms("service_time_ms", "p99"), cpu, cpu_us,
    100 * cpu / wall if wall else 0, reasons))
PY
)
  figures=$(cut -f1 <<<"$row")
  echo "$figures" >>"$WORK/rounds"
  misses=$(cut -d' ' -f3 <<<"$figures")
  echo "$(cut -f2- <<<"$row")  $(awk -v m="$misses" 'BEGIN { print (m <= 1 ? "held" : "missed") }')"
}

# round_median N: the median (lib.sh) of column N of the step's rounds in WORK/rounds.
round_median() {
  # shellcheck disable=SC2046  # one value per word
  median $(cut -d' ' -f"$1" "$WORK/rounds")
}

# step X: ROUNDS paired rounds at X, then the step's row (medians over the rounds); returns 0 if the median
# round's misses are at most 1% of its planned calls (1 if not, 2 if wrk measured nothing). Leaves the medians
# in STEP_W, STEP_RATE, STEP_MISSES and STEP_CPU_US (CPU µs per request).
step() {
  local x=$1 status
  STEP=$((STEP + 1))
  : >"$WORK/rounds"
  for _ in $(seq 1 "$ROUNDS"); do
    status=0
    round "$x" || status=$?
    [ "$status" -eq 0 ] || return "$status"
  done
  STEP_W=$(round_median 1)
  STEP_RATE=$(round_median 2)
  STEP_MISSES=$(round_median 3)
  STEP_CPU_US=$(round_median 4)
  awk -v s="$STEP" -v x="$x" -v w="$STEP_W" -v r="$STEP_RATE" -v m="$STEP_MISSES" -v c="$STEP_CPU_US" -v n="$ROUNDS" 'BEGIN {
    printf "step %d, x = %.3f: median of %d rounds: wrk %.0f req/s, rate %.0f calls/s, misses %.2f%%, loadgen %.2f us/req  %s\n",
      s, x, n, w, r, m, c, (m <= 1 ? "HELD" : "MISSED") }'
  awk -v m="$STEP_MISSES" 'BEGIN { exit !(m <= 1) }'
}

printf '%4s %9s %9s %5s %9s %8s %9s %7s %6s  %8s %8s %8s  %6s %6s %7s   %s\n' step "wrk W" rate "x" planned \
  on-time "not-sent" "late>${LATE_MS}ms" failed "lag-max" "p99" "p99-svc" "cpu-s" "µs/req" "cpu" "not sent by reason"
printf '%4s %9s %9s %5s %9s %8s %9s %7s %6s  %8s %8s %8s  %6s %6s %7s\n' "" "req/s" "calls/s" "" "calls" "" "calls" \
  "" "" "ms" "ms" "ms" "" "" "core"
GOOD=""  # highest x that held, and its step's figures
GOOD_W=""
GOOD_RATE=""
GOOD_CPU=""
GOOD_MISSES=""
BAD=""   # lowest x that did not
held_at() {  # held_at X: one step; on success records it as GOOD
  local status=0
  step "$1" || status=$?
  if [ "$status" -eq 0 ]; then GOOD=$1; GOOD_W=$STEP_W; GOOD_RATE=$STEP_RATE; GOOD_CPU=$STEP_CPU_US; GOOD_MISSES=$STEP_MISSES; fi
  return "$status"
}
LO=$LOW
for _ in 1 2 3; do
  if held_at "$LO"; then break; fi
  BAD=$LO
  LO=$(awk -v x="$LO" 'BEGIN { printf "%.4f", x / 2 }')
done
if [ -n "$GOOD" ]; then
  if [ -z "$BAD" ] && ! held_at "$HIGH"; then BAD=$HIGH; fi
  for _ in $(seq 1 "$STEPS"); do
    [ -n "$BAD" ] || break
    MID=$(awk -v g="$GOOD" -v b="$BAD" 'BEGIN { printf "%.4f", (g + b) / 2 }')
    if held_at "$MID"; then :; else BAD=$MID; fi
  done
fi

echo
if [ -z "$GOOD" ]; then
  echo "no rate held within 1% of schedule (down to x = $BAD of wrk's rate)"
else
  awk -v g="$GOOD" -v b="${BAD:-}" -v w="$GOOD_W" -v r="$GOOD_RATE" -v c="$CONNS" -v cpu="$GOOD_CPU" \
    -v late="$LATE_MS" -v m="$GOOD_MISSES" -v n="$ROUNDS" 'BEGIN {
    printf "highest constant rate held within 1%% of schedule (late > %s ms counted; median of %d paired rounds): x = %.3f of wrk -t1 -c%s%s\n",
      late, n, g, c, (b == "" ? " (the top of the range: it may hold more)" : sprintf(" (%.3f did not hold)", b))
    printf "that step (medians): %.0f calls/s, misses %.2f%% of planned calls, wrk %.0f req/s (goal: x >= 0.9)\n", r, m, w
    printf "loadgen CPU at that rate: %.2f us per request (median; user + system, start-up and warmup included)\n", cpu
  }'
fi
echo "load average now: $(cut -d' ' -f1-3 /proc/loadavg) (on a shared machine the figures are indicative)"
