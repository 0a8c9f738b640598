#!/usr/bin/env bash
# How the endpoint's time for one large JSON body grows with its size: POSTs bodies of 7, 28 and 56 MiB to
# examples/echo (`predict(text: str)`) and prints the time and MB/s of each. Linear handling shows as the same
# MB/s at every size. Three shapes:
#   string  {"text": "aaaa…"}                  200: parsed, validated, sent to the Python worker and echoed back
#   list    {"text": [0, 1, 2, …]}             422: parsed and validated only (text must be a str)
#   object  {"text": "x", "extra": {"k0": 0…}} 200: parsed (many keys), the worker gets and echoes "x"
#
#   Benchmarks/large-body.sh [rounds=3]        # BUILD=debug uses the debug build instead of a release build;
#                                              # SIZES="7 28 56 112" picks the sizes in MiB (default 7 28 56)
#
# Each figure is the median of `rounds` requests (curl's time_total, one connection per request), loopback only.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init large-body
require_tools --fail python3 curl

ROUNDS=${1:-3}
SIZES=${SIZES:-7 28 56}
if [ "${BUILD:-release}" = debug ]; then
  (cd "$ROOT" && swift build --product reference-endpoint >"$WORK/build.log" 2>&1) || { tail -30 "$WORK/build.log"; exit 1; }
  BIN="$ROOT/.build/debug/reference-endpoint"
else
  build_release "$ROOT" --product reference-endpoint
  BIN="$ROOT/.build/release/reference-endpoint"
fi

python3 - "$WORK" $SIZES <<'PY'
import json, sys
work = sys.argv[1]
for mb in map(int, sys.argv[2:]):
    n = mb << 20
    with open(f"{work}/string-{mb}.json", "w") as f:
        json.dump({"text": "a" * n}, f)
    with open(f"{work}/list-{mb}.json", "w") as f:
        json.dump({"text": list(range(n // 8))}, f)
    with open(f"{work}/object-{mb}.json", "w") as f:
        json.dump({"text": "x", "extra": {f"k{i}": i for i in range(n // 16)}}, f)
PY

"$BIN" --model-dir "$ROOT/examples/echo" --routes-file "$ROOT/examples/echo/routes.json" --port 0 --workers 1 \
  --loop-threads 1 --no-access-log --max-body $((256 << 20)) >"$WORK/ready" 2>"$WORK/endpoint.log" &
PIDS+=($!)
for _ in $(seq 1 300); do grep -q "running at" "$WORK/ready" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^Endpoint is running at: //p' "$WORK/ready")
[ -n "$URL" ] || { echo "error: the endpoint did not start"; cat "$WORK/endpoint.log"; exit 1; }

printf "%-8s %6s %8s %10s %9s\n" shape MiB status seconds MB/s
for shape in string list object; do
  for mb in $SIZES; do
    file="$WORK/$shape-$mb.json"
    bytes=$(stat -c %s "$file")
    times=()
    status=""
    for _ in $(seq 1 "$ROUNDS"); do
      line=$(curl -s -o /dev/null --max-time 120 -w "%{http_code} %{time_total}" \
        -H 'Content-Type: application/json' --data-binary @"$file" "$URL/predict")
      status=${line% *}
      times+=("${line#* }")
    done
    median=$(printf "%s\n" "${times[@]}" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    awk -v s="$shape" -v mb="$mb" -v st="$status" -v t="$median" -v b="$bytes" \
      'BEGIN {printf "%-8s %6d %8s %10.3f %9.1f\n", s, mb, st, t, b / 1e6 / t}'
  done
done
