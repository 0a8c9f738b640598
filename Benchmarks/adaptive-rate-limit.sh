#!/usr/bin/env bash
# Prints what the adaptive rate limiter does under overload: scenarios/adaptive-rate-limit.json (32 closed-loop
# users without think time against one worker of 10 ms behind a queue of 4, for 10 s) run as shipped, with
# "adaptiveRateLimit": {"minimumRate": 10}, and again without it, interleaved ROUNDS times (default 1). Each
# run prints the calls, the successful calls per second (goodput), the attempts, the attempts answered 503
# and their share, and the p99 of the successful calls (a paced call's wait counts in its latency). A
# benchmark prints figures; it never fails a test.
# Usage: [ROUNDS=1] Benchmarks/adaptive-rate-limit.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init adaptive-rate-limit
ROUNDS=${ROUNDS:-1}

build_release "$ROOT" --product loadgen
build_release "$ROOT" --product reference-endpoint
LOADGEN="$ROOT/.build/release/loadgen"

# The scenario as shipped (model folder made absolute, since the copies live in WORK), and without the limiter.
python3 - "$ROOT" "$WORK" <<'PY'
import json, sys
root, work = sys.argv[1], sys.argv[2]
scenario = json.load(open(f"{root}/scenarios/adaptive-rate-limit.json"))
scenario["target"]["embedded"]["modelDir"] = f"{root}/examples/echo"
json.dump(scenario, open(f"{work}/limited.json", "w"))
del scenario["client"]["adaptiveRateLimit"]
json.dump(scenario, open(f"{work}/plain.json", "w"))
PY

report() {  # report LABEL JSON
  python3 - "$1" "$2" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
shed = int(d["errors"]["attempts"]["by_status"].get("503", 0))
attempts = max(1, d["attempts"])
goodput = d["goodput_rps"]
p99 = d["latency_ok_ms"]["p99"]
print(f"{label:<22} calls {d['calls']:>6}  ok {d['ok']:>6}  goodput {goodput:7.1f}/s  attempts {d['attempts']:>6}  "
      f"503s {shed:>6} ({100 * shed / attempts:5.1f} %)  p99 {p99:8.2f} ms")
PY
}

for round in $(seq 1 "$ROUNDS"); do
  [ "$ROUNDS" -gt 1 ] && echo "round $round of $ROUNDS"
  # Alternate the order, so that neither variant always runs on a warmer machine.
  if [ $((round % 2)) -eq 1 ]; then order="plain limited"; else order="limited plain"; fi
  for variant in $order; do
    "$LOADGEN" run "$WORK/$variant.json" --json "$WORK/$variant-$round.json" >/dev/null 2>"$WORK/$variant-$round.log" || true
    [ -s "$WORK/$variant-$round.json" ] || { tail -20 "$WORK/$variant-$round.log"; exit 1; }
    if [ "$variant" = limited ]; then label="adaptive rate limit"; else label="no rate limit"; fi
    report "$label" "$WORK/$variant-$round.json"
  done
done
