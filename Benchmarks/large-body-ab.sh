#!/usr/bin/env bash
# Paired A/B of two reference-endpoint binaries on large string bodies: 7, 28 and 56 MiB {"text": "aaa…"} to
# examples/echo, 5 rounds per size, the two endpoints asked in alternating order; prints each side's median and
# range. Use it to compare a build from before a change (e.g. `git archive COMMIT | tar -x -C /tmp/old` and a
# release build there) with this one.
#
#   Benchmarks/large-body-ab.sh OLD_BINARY [NEW_BINARY]    # NEW_BINARY: this repository's release build
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init large-body-ab
require_tools --fail python3 curl
OLD=${1:?usage: large-body-ab.sh OLD_BINARY [NEW_BINARY]}
NEW=${2:-}
if [ -z "$NEW" ]; then
  build_release "$ROOT" --product reference-endpoint
  NEW="$ROOT/.build/release/reference-endpoint"
fi
python3 -c "
import json
for mb in (7, 28, 56):
    json.dump({'text': 'a' * (mb << 20)}, open('$WORK/string-%d.json' % mb, 'w'))"

# start BINARY NAME: starts an endpoint in this shell (so that PIDS, and the cleanup, know it); url NAME: its URL.
start() {
  "$1" --model-dir "$ROOT/examples/echo" --routes-file "$ROOT/examples/echo/routes.json" --port 0 --workers 1 \
    --loop-threads 1 --no-access-log --max-body $((256 << 20)) >"$WORK/ready-$2" 2>/dev/null &
  PIDS+=($!)
}
url() {
  for _ in $(seq 1 300); do grep -q "running at" "$WORK/ready-$1" 2>/dev/null && break; sleep 0.1; done
  sed -n 's/^Endpoint is running at: //p' "$WORK/ready-$1"
}
start "$OLD" old
start "$NEW" new
URL_OLD=$(url old)
URL_NEW=$(url new)
[ -n "$URL_OLD" ] && [ -n "$URL_NEW" ] || { echo "error: an endpoint did not start"; exit 1; }

ask() { curl -s -o /dev/null --max-time 120 -w "%{time_total}" -H 'Content-Type: application/json' --data-binary @"$2" "$1/predict"; }
summary() { printf "%s\n" "$@" | sort -g | awk '{a[NR]=$1} END {printf "median %.3fs (range %.3f-%.3f)", a[int((NR+1)/2)], a[1], a[NR]}'; }
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for mb in 7 28 56; do
  old=(); new=()
  for round in 1 2 3 4 5; do
    if [ $((round % 2)) = 1 ]; then
      old+=("$(ask "$URL_OLD" "$WORK/string-$mb.json")"); new+=("$(ask "$URL_NEW" "$WORK/string-$mb.json")")
    else
      new+=("$(ask "$URL_NEW" "$WORK/string-$mb.json")"); old+=("$(ask "$URL_OLD" "$WORK/string-$mb.json")")
    fi
  done
  echo "string $mb MiB: old $(summary "${old[@]}"), new $(summary "${new[@]}")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
