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

with_and_without adaptive-rate-limit.json adaptiveRateLimit

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

rounds_with_and_without "adaptive rate limit" "no rate limit"
