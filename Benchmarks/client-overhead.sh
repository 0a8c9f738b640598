#!/usr/bin/env bash
# Prints the per-call cost of ResilientClient (callJSON, and call with Codable types) next to the bare
# LoopTransport it sends with: same target, same number of calls, same concurrency, in the same run, the variants
# interleaved round by round. The target is a fixed fast NetIO server (POST /predict → {"y":1}) pinned to CPU 0 and
# the client to CPU 1, so that the client's own cost dominates. A benchmark prints figures; it never fails a test.
# Many short rounds (the default: 61 of 2,000 calls) resist a shared machine's slow spells better than a few long
# ones; even so, runs differ by a few percent, so compare medians over several runs (Benchmarks/README.md), or
# instruction counts (client-instructions.sh).
# RUNS=N repeats the whole measurement N times (one build, one server) and then prints, for each overhead column,
# the median over runs and its range: the figure to quote.
# Usage: [VARIANTS=bare,bareJSON,json,untimed,bareCodable,typed] [RUNS=1] Benchmarks/client-overhead.sh
#        [calls=2000] [concurrency=16] [rounds=61]
set -euo pipefail
CALLS=${1:-2000}
CONCURRENCY=${2:-16}
ROUNDS=${3:-61}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}  # a fixed port could be held by another benchmark
bench_init client-overhead
require_tools taskset

client_bench_start
RUNS=${RUNS:-1}
echo "server on CPU 0, client on CPU 1"
for run in $(seq 1 "$RUNS"); do
  [ "$RUNS" -gt 1 ] && echo "run $run of $RUNS"
  taskset -c 1 "$BIN" client "http://127.0.0.1:$PORT" "$CALLS" "$CONCURRENCY" "$ROUNDS" | tee "$WORK/run$run.txt"
done
[ "$RUNS" -gt 1 ] || exit 0

# The rows' overhead columns (the last 2 of bareJSON and bareCodable: over bare; the last 4 of the client's
# variants: over bare, then over the same work by hand), median and range over the runs.
echo
echo "over $RUNS runs: median (min to max) of each run's overhead"
cat "$WORK"/run*.txt | awk '
  /%/ {
    name = substr($0, 1, 32); sub(/ +$/, "", name)
    n = 0
    for (i = 1; i <= NF; i++) if ($i ~ /%$/) { n++; v = $i; sub(/%/, "", v); cols[name, n, ++count[name, n]] = v + 0 }
    width[name] = n
    if (!(name in seen)) { seen[name] = 1; order[++names] = name }
  }
  function median(name, c,    k, m, vals, i, j, t) {
    m = count[name, c]
    for (i = 1; i <= m; i++) vals[i] = cols[name, c, i]
    for (i = 2; i <= m; i++) { t = vals[i]; for (j = i - 1; j >= 1 && vals[j] > t; j--) vals[j + 1] = vals[j]; vals[j + 1] = t }
    lo = vals[1]; hi = vals[m]
    return m % 2 ? vals[(m + 1) / 2] : (vals[m / 2] + vals[m / 2 + 1]) / 2
  }
  END {
    label[1] = "over bare, wall"; label[2] = "over bare, CPU"
    label[3] = "over same work by hand, wall"; label[4] = "over same work by hand, CPU"
    for (k = 1; k <= names; k++) {
      name = order[k]
      for (c = 1; c <= width[name]; c++) {
        med = median(name, c)
        printf "%-32s %-30s %6.1f%%  (%.1f to %.1f%%)\n", name, label[c], med, lo, hi
      }
    }
  }'
