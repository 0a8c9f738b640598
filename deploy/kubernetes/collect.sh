#!/usr/bin/env bash
# Gathers the shard results of a finished run from its pods' logs and merges them.
#
#   deploy/kubernetes/collect.sh [--name NAME] [--out DIR] [-- MERGE-FLAGS...]
#
# Writes DIR/shard-K.json for every completed shard (the log of the pod that succeeded for index K, after
# the marker line), then runs `loadgen merge DIR/shard-*.json --json DIR/merged.json MERGE-FLAGS...` with
# the loadgen on PATH (set LOADGEN to use another command, e.g. "docker run --rm -v $PWD:/w -w /w IMAGE").
# Its exit code is merge's: 0 thresholds passed, 1 failed, 2 shards missing or mismatched.
set -euo pipefail
name="loadgen-run"
out="results"
while [ $# -gt 0 ]; do
  case "$1" in
    --name) name="${2:-}"; shift 2 ;;
    --out) out="${2:-}"; shift 2 ;;
    --) shift; break ;;
    *) echo "usage: $0 [--name NAME] [--out DIR] [-- MERGE-FLAGS...]" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
found=0
while read -r pod index; do
  [ -n "$pod" ] || continue
  kubectl logs "$pod" -c loadgen | sed -n '/^=== loadgen shard .* result ===$/,$p' | tail -n +2 > "$out/shard-$index.json"
  if [ ! -s "$out/shard-$index.json" ]; then
    echo "warning: pod $pod (shard $index) printed no result" >&2
    rm -f "$out/shard-$index.json"
    continue
  fi
  found=$((found + 1))
done < <(kubectl get pods -l "app.kubernetes.io/instance=$name" --field-selector=status.phase=Succeeded \
  -o jsonpath='{range .items[*]}{.metadata.name} {.metadata.annotations.batch\.kubernetes\.io/job-completion-index}{"\n"}{end}')
echo "collected $found shard results into $out/" >&2
[ "$found" -gt 0 ] || { echo "error: no shard results (is job '$name' finished?)" >&2; exit 2; }
${LOADGEN:-loadgen} merge "$out"/shard-*.json --json "$out/merged.json" "$@"
