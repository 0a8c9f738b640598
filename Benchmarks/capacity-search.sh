#!/usr/bin/env bash
# Does `loadgen capacity` find the truth? Against the bundled endpoint with one worker and a 20 ms delay
# (scenarios/capacity.json), with the SLA "p99 < 100ms, error_rate < 1%":
#   1. the truth: the endpoint's saturated throughput, measured by a closed loop of 8 users for 10 s (below it
#      a call takes ~21 ms; above it the queue grows without bound, so the SLA's capacity is this rate);
#   2. RUNS (default 2) capacity searches, each timed;
# and prints each bracket, whether it holds the truth within 10%, its length, and whether the runs agree
# within the precision. Usage: Benchmarks/capacity-search.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-2}
(( RUNS >= 1 && RUNS <= 10 )) || { echo "RUNS must be 1..10" >&2; exit 2; }
swift build -c release --product loadgen >/dev/null
LOADGEN=.build/release/loadgen
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The truth: the same target and request, 8 users, no think time.
python3 - "$WORK/closed.json" <<'PY'
import json, sys
scenario = json.load(open("scenarios/capacity.json"))
scenario["name"] = "capacity-truth"
scenario["target"]["embedded"]["modelDir"] = "../../" + "examples/echo"
scenario["load"] = {"type": "closed", "users": 8, "duration": "10s"}
scenario["thresholds"] = []
json.dump(scenario, open(sys.argv[1], "w"))
PY
# modelDir is resolved against the scenario's folder: point it at the repository's examples.
sed -i "s#\"../../examples/echo\"#\"$PWD/examples/echo\"#" "$WORK/closed.json"
timeout 120 $LOADGEN run "$WORK/closed.json" --json "$WORK/truth.json" -q
TRUTH=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['goodput_rps'])" "$WORK/truth.json")
echo "truth (closed loop, 8 users, 10 s): $TRUTH calls/s"

for run in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  timeout 600 $LOADGEN capacity scenarios/capacity.json --json "$WORK/cap-$run.json" -q || true
  end=$(date +%s.%N)
  python3 - "$WORK/cap-$run.json" "$TRUTH" "$start" "$end" "$run" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
truth, start, end, run = float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
c = result["capacity"]
low, high = c["last_pass_rps"], c["first_fail_rps"]
holds = low is not None and high is not None and low * 0.9 <= truth <= high * 1.1
print(f"run {run}: bracket {low} – {high} calls/s, confirmed {c['confirmed']}, limited by {c['limited_by']}, "
      f"{len(result['steps'])} steps, {end - start:.0f} s; truth within 10% of the bracket: {'yes' if holds else 'NO'}")
PY
done
python3 - "$WORK" "$RUNS" <<'PY'
import json, sys
work, runs = sys.argv[1], int(sys.argv[2])
lows = [json.load(open(f"{work}/cap-{r}.json"))["capacity"]["last_pass_rps"] for r in range(1, runs + 1)]
lows = [x for x in lows if x is not None]
if len(lows) >= 2:
    spread = max(lows) / min(lows) - 1
    print(f"last pass across runs: {', '.join(map(str, lows))} (spread {spread * 100:.1f}%, precision 5%)")
PY
