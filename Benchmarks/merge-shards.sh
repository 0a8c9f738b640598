#!/usr/bin/env bash
# How far `loadgen merge` scales on paper: merge time and peak memory for 100 and 1,000 shard results.
#
# One real shard result is made first: `loadgen run --shard 0/1` of a constant-rate load against the
# bundled endpoint (examples/echo) for DURATION seconds, so it has DURATION time-series points, each with its
# interval histograms, like a real shard of a run that long. The synthetic shards are copies of it numbered
# 0..N-1 of N (merge decodes every copy in full: the cost is the same as for distinct shards of that shape).
# Then `loadgen merge` (release build) runs over them, timed by /usr/bin/time: wall time, CPU time and
# maximum resident set size. Median of ROUNDS rounds each.
#
#   Benchmarks/merge-shards.sh [DURATION=60] [ROUNDS=3]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init merge-shards
duration=${1:-60}
rounds=${2:-3}
require_tools --fail python3
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time is not installed (apt-get install time)" >&2; exit 1; }

echo "== release build of loadgen"
build_release "$ROOT" --product loadgen
loadgen="$(cd "$ROOT" && swift build -c release --show-bin-path)/loadgen"

echo "== one real shard: ${duration}s at 200/s against examples/echo"
port=$((20000 + RANDOM % 20000))
taskset -c 0 "$loadgen" serve --model-dir "$ROOT/examples/echo" --routes-file "$ROOT/examples/echo/routes.json" \
  --port "$port" --workers 1 --no-access-log >"$WORK/serve.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do grep -q "Endpoint is running" "$WORK/serve.log" && break; sleep 0.1; done
cat >"$WORK/scenario.json" <<JSON
{"name": "merge-bench", "target": {"url": "http://127.0.0.1:$port"},
 "requests": [{"name": "short", "route": "/predict", "body": {"text": {"\$concat": ["x", {"\$int": [0, 1000]}]}}, "weight": 3},
              {"name": "long", "route": "/predict", "body": {"text": {"\$concat": ["y", {"\$seq": 1}]}}}],
 "load": {"type": "constant-rate", "rate": 200, "duration": "${duration}s"},
 "client": {"connections": 8}, "thresholds": ["p99 < 250ms", "error_rate < 1%"]}
JSON
(cd "$WORK" && taskset -c 1 "$loadgen" run scenario.json --shard 0/1 --start-at now+2s --json template.json -q) || true
stop_all
size=$(stat -c %s "$WORK/template.json")
echo "template shard: $(python3 -c "import json;d=json.load(open('$WORK/template.json'));print(d['calls'],'calls,',len(d['timeseries']['points']),'points,')") $((size / 1024)) KiB"

make_shards() {  # make_shards N DIR
  python3 - "$1" "$2" "$WORK/template.json" <<'PY'
import os, sys
count, directory, template = int(sys.argv[1]), sys.argv[2], open(sys.argv[3]).read()
os.makedirs(directory, exist_ok=True)
head = '"shard": {\n    "index": 0,\n    "count": 1,'
assert head in template, "template has no shard object"
for index in range(count):
    text = template.replace(head, '"shard": {\n    "index": %d,\n    "count": %d,' % (index, count), 1)
    with open(os.path.join(directory, "shard-%04d.json" % index), "w") as f:
        f.write(text)
PY
}

echo "== loadgen merge (release), median of $rounds rounds"
printf "%8s %10s %10s %10s %12s\n" shards "input MB" "wall s" "cpu s" "max RSS MB"
for count in 100 1000; do
  make_shards "$count" "$WORK/shards-$count"
  input=$(du -sm "$WORK/shards-$count" | cut -f1)
  walls=() cpus=() rss=()
  for _ in $(seq 1 "$rounds"); do
    /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" taskset -c 1 "$loadgen" merge "$WORK/shards-$count"/shard-*.json \
      --json "$WORK/merged-$count.json" --quiet >/dev/null 2>"$WORK/merge.err" || true
    read -r wall user sys maxrss <"$WORK/time.txt"
    walls+=("$wall"); cpus+=("$(python3 -c "print(round($user + $sys, 2))")"); rss+=("$((maxrss / 1024))")
  done
  median() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR + 1) / 2)]}'; }
  calls=$(python3 -c "import json;print(json.load(open('$WORK/merged-$count.json'))['calls'])")
  printf "%8s %10s %10s %10s %12s   (merged calls %s; walls %s)\n" "$count" "$input" "$(median "${walls[@]}")" \
    "$(median "${cpus[@]}")" "$(median "${rss[@]}")" "$calls" "${walls[*]}"
done
