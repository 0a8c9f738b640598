#!/usr/bin/env bash
# Prints what hedging does to a heavy tail: scenarios/hedging.json (the bundled endpoint with --delay 2ms
# --slow-rate 0.03 --slow-delay 200ms, 100 calls/s for 20 s) run as shipped, with "hedging": {"delay": "20ms",
# "maxAttempts": 2}, and again without client.hedging, interleaved ROUNDS times (default 1). Each run prints
# p50, p99, p99.9 of the successful calls, the attempts and the amplification (attempts per call, the
# hedges' cancelled losers included). A benchmark prints figures; it never fails a test.
# Usage: [ROUNDS=1] Benchmarks/hedging.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init hedging
ROUNDS=${ROUNDS:-1}

build_release "$ROOT" --product loadgen
build_release "$ROOT" --product reference-endpoint
LOADGEN="$ROOT/.build/release/loadgen"

with_and_without hedging.json hedging

report() {  # report LABEL JSON
  python3 - "$1" "$2" <<'PY'
import json, sys
label, path = sys.argv[1], sys.argv[2]
d = json.load(open(path))
l = d["latency_ok_ms"]
print(f"{label:<16} calls {d['calls']:>5}  ok {d['ok']:>5}  p50 {l['p50']:7.2f} ms  p99 {l['p99']:7.2f} ms  "
      f"p99.9 {l['p999']:7.2f} ms  attempts {d['attempts']:>5}  amplification {d['amplification']:.3f}")
PY
}

rounds_with_and_without "hedging 20ms ×2" "no hedging"
