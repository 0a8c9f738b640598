#!/usr/bin/env bash
# Runs the request-decoder fuzzer for many inputs (default 1,000,000) and prints inputs/s.
# Usage: Benchmarks/parser-fuzz.sh [iterations] [seed]   (a figure, not a test; build in release for speed)
set -euo pipefail
cd "$(dirname "$0")/.."
export FUZZ_ITERATIONS="${1:-1000000}" FUZZ_SEED="${2:-61474}"
swift test ${SWIFT_TEST_FLAGS:-} --filter ParserFuzzTests 2>&1 | grep -E "parser-fuzz:|passed|failed|error"
