#!/usr/bin/env bash
# Calibrates `loadgen compare`: how often two runs against the same endpoint come out '~' on every metric
# (false alarms), and how often 5 ms more per call comes out 'worse' on p50 and p99 (detection).
#
# Usage: Benchmarks/compare-calibration.sh        (environment: TRIALS=20 RATE=200 DURATION=10s)
#        KEEP=DIR Benchmarks/compare-calibration.sh  also keeps every run's JSON in DIR (same-N-base.json, …)
#        RUNS=DIR Benchmarks/compare-calibration.sh  runs nothing: judges the runs kept in DIR again with the
#                                                    current loadgen (to try a method on the same data)
#
# Builds release, starts two reference endpoints on 127.0.0.1 serving examples/calculator (the second with
# --delay 5ms), then:
#   same-vs-same  TRIALS x (base run, new run) against the first endpoint; counts trials where every metric is '~'
#   +5 ms         TRIALS x (base run against the first, new run against the delayed one); counts trials where
#                 p50 and p99 are both 'worse'
# Each run: constant rate RATE/s for DURATION, POST /add {"a": 1}, after a 1 s warmup.
# Target: same-vs-same all '~' in >= 19 of 20 trials; +5 ms worse on p50 and p99 in 20 of 20.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init compare-calibration
require_tools --fail python3

TRIALS=${TRIALS:-20}
RATE=${RATE:-200}
DURATION=${DURATION:-10s}
case "$TRIALS" in '' | *[!0-9]*) echo "error: TRIALS must be a number" >&2; exit 2 ;; esac
[ "$TRIALS" -ge 1 ] && [ "$TRIALS" -le 1000 ] || { echo "error: TRIALS must be 1..1000" >&2; exit 2; }

echo "building release..."
build_release "$ROOT"
BIN="$ROOT/.build/release"
RUNS=${RUNS:-}
KEEP=${KEEP:-}
if [ -n "$RUNS" ]; then
  [ -d "$RUNS" ] || { echo "error: RUNS=$RUNS is not a folder" >&2; exit 2; }
  TRIALS=$(find "$RUNS" -name 'same-*-base.json' | wc -l)
  [ "$TRIALS" -ge 1 ] || { echo "error: no same-N-base.json in $RUNS" >&2; exit 2; }
fi
[ -z "$KEEP" ] || mkdir -p "$KEEP"

# start_endpoint NAME [flags…]: starts a reference endpoint on a free port, adds it to PIDS, and sets URL from
# its "Endpoint is running at" line (waits up to 60 s).
start_endpoint() {
  local name=$1 line
  shift
  "$BIN/reference-endpoint" --model-dir "$ROOT/examples/calculator" \
    --routes-file "$ROOT/examples/calculator/routes.json" --host 127.0.0.1 --port 0 --workers 2 \
    --no-access-log "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    line=$(grep -m1 "Endpoint is running at" "$WORK/$name.out" || true)
    if [ -n "$line" ]; then
      URL=${line##*at: }
      return 0
    fi
    kill -0 "${PIDS[-1]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: endpoint $name did not start" >&2
  tail -20 "$WORK/$name.err" >&2
  exit 1
}

if [ -z "$RUNS" ]; then
  start_endpoint plain
  PLAIN=$URL
  start_endpoint delayed --delay 5ms
  DELAYED=$URL
  echo "endpoints: $PLAIN (plain), $DELAYED (--delay 5ms)"
else
  PLAIN=http://127.0.0.1:1 DELAYED=http://127.0.0.1:1
  echo "judging the runs kept in $RUNS again"
fi

cat >"$WORK/scenario.json" <<JSON
{
  "name": "compare-calibration",
  "target": {"url": "$PLAIN"},
  "requests": [{"route": "/add", "method": "POST", "body": {"a": 1}}],
  "load": {"type": "constant-rate", "rate": $RATE, "duration": "$DURATION"},
  "warmup": "1s",
  "client": {"connections": 16, "timeout": "5s"}
}
JSON

# run URL OUT.json: one loadgen run (bounded by `timeout`).
run() {
  timeout 120 "$BIN/loadgen" run "$WORK/scenario.json" --url "$1" --json "$2" -q >/dev/null 2>>"$WORK/runs.err"
}

# verdicts OUT.json: prints "metric=verdict ..." of a compare --json file.
verdicts() {
  python3 -c 'import json, sys
print(" ".join(m["name"] + "=" + m["verdict"] for m in json.load(open(sys.argv[1]))["metrics"]))' "$1"
}

# trial NEW_URL NAME: prints the verdicts of one base run (plain endpoint) against one new run (NEW_URL); with
# KEEP, keeps both runs as NAME-base.json and NAME-new.json; with RUNS, judges the kept pair NAME instead.
trial() {
  if [ -n "$RUNS" ]; then
    cp "$RUNS/$2-base.json" "$WORK/base.json" 2>/dev/null || { echo "run-missing"; return; }
    cp "$RUNS/$2-new.json" "$WORK/new.json" 2>/dev/null || { echo "run-missing"; return; }
  else
    run "$PLAIN" "$WORK/base.json" || { echo "run-failed"; return; }
    run "$1" "$WORK/new.json" || { echo "run-failed"; return; }
    if [ -n "$KEEP" ]; then cp "$WORK/base.json" "$KEEP/$2-base.json"; cp "$WORK/new.json" "$KEEP/$2-new.json"; fi
  fi
  timeout 120 "$BIN/loadgen" compare "$WORK/base.json" "$WORK/new.json" --json "$WORK/verdict.json" \
    >"$WORK/compare.out" 2>&1 || true
  [ -s "$WORK/verdict.json" ] || { echo "compare-failed"; return; }
  verdicts "$WORK/verdict.json"
  rm -f "$WORK/verdict.json"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "same vs same ($TRIALS trials, $RATE/s for $DURATION):"
quiet=0
for i in $(seq 1 "$TRIALS"); do
  result=$(trial "$PLAIN" "same-$i")
  echo "  $i: $result"
  if ! grep -qE 'better|worse|failed|missing' <<<"$result"; then quiet=$((quiet + 1)); fi
done

echo
echo "+5 ms (new side against --delay 5ms, $TRIALS trials):"
detected=0
for i in $(seq 1 "$TRIALS"); do
  result=$(trial "$DELAYED" "delay-$i")
  echo "  $i: $result"
  if grep -q 'p50=worse' <<<"$result" && grep -q 'p99=worse' <<<"$result"; then detected=$((detected + 1)); fi
done

echo
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "same vs same: every metric '~' in $quiet of $TRIALS trials (target >= $((TRIALS - TRIALS / 20)))"
echo "+5 ms:        p50 and p99 'worse' in $detected of $TRIALS trials (target $TRIALS)"
if [ -s "$WORK/runs.err" ]; then echo "run errors:"; sort "$WORK/runs.err" | uniq -c | head -10; fi
