#!/usr/bin/env bash
# Prints the instructions per call (user space, counted by valgrind's callgrind) of ResilientClient and of the
# bare LoopTransport it sends with, for the same calls against the same fast target as client-overhead.sh.
# Instruction counts do not depend on what else the machine is doing, so this is the figure to compare across
# changes on a shared, noisy machine; client-overhead.sh gives the wall-clock and CPU-time view (which also
# includes the kernel's share: system calls and thread wake-ups).
# Each variant runs twice, with LOW and HIGH measured calls (each run also makes min(calls, 2000) warm-up
# calls); the difference in instructions divided by the difference in calls removes start-up costs.
# Usage: Benchmarks/client-instructions.sh [low=2000] [high=6000] [variants=bare,bareJSON,json,untimed,bareCodable,typed]
set -euo pipefail
LOW=${1:-2000}
HIGH=${2:-6000}
VARIANTS=${3:-bare,bareJSON,json,untimed,bareCodable,typed}
source "$(dirname "$0")/lib.sh"
PORT=${PORT:-$(free_port)}
bench_init client-instructions
require_tools taskset valgrind

client_bench_start

# instructions VARIANT CALLS: the total instructions of one run.
instructions() {
  VARIANTS=$1 valgrind --tool=callgrind --callgrind-out-file="$WORK/callgrind.out" \
    "$BIN" client "http://127.0.0.1:$PORT" "$2" 16 1 2>&1 >/dev/null | awk '/Collected/ { print $4 }'
}

# Calls a run makes: the measured ones and the warm-up (min(calls, 2000)).
calls_low=$(( LOW + (LOW < 2000 ? LOW : 2000) ))
calls_high=$(( HIGH + (HIGH < 2000 ? HIGH : 2000) ))
declare -A per
for variant in ${VARIANTS//,/ }; do
  low=$(instructions "$variant" "$LOW")
  high=$(instructions "$variant" "$HIGH")
  [ -n "$low" ] && [ -n "$high" ] || { echo "callgrind failed for $variant"; exit 1; }
  per[$variant]=$(( (high - low) / (calls_high - calls_low) ))
done

# ratio A B: A over B as a signed percentage, or nothing when either is missing.
ratio() {
  [ -n "${per[$1]:-}" ] && [ -n "${per[$2]:-}" ] && [ "$1" != "$2" ] || return 0
  awk -v a="${per[$1]}" -v b="${per[$2]}" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }'
}

echo "instructions per call, user space ($LOW and $HIGH calls, concurrency 16)"
printf '%-14s %12s %10s %22s\n' variant instr/call "vs bare" "vs same work by hand"
for variant in ${VARIANTS//,/ }; do
  case $variant in json|untimed) byhand=bareJSON ;; typed) byhand=bareCodable ;; *) byhand="" ;; esac
  printf '%-14s %12s %10s %22s\n' "$variant" "${per[$variant]}" "$(ratio "$variant" bare)" \
    "$( [ -n "$byhand" ] && ratio "$variant" "$byhand")"
done
