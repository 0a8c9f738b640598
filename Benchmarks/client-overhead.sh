#!/usr/bin/env bash
# Prints the per-call cost of ResilientClient (callJSON, and call with Codable types) next to the bare
# LoopTransport it sends with: same target, same number of calls, same concurrency, in the same run, the variants
# interleaved round by round. The target is a fixed fast NetIO server (POST /predict → {"y":1}) pinned to CPU 0 and
# the client to CPU 1, so that the client's own cost dominates. A benchmark prints figures; it never fails a test.
# Usage: Benchmarks/client-overhead.sh [calls=20000] [concurrency=16] [rounds=5]
set -euo pipefail
CALLS=${1:-20000}
CONCURRENCY=${2:-16}
ROUNDS=${3:-5}
PORT=${PORT:-18090}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/client-overhead.XXXXXX)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT

# A throwaway package that depends on this one by path, so the repository needs no benchmark product.
mkdir -p "$WORK/pkg/Sources/bench"
cat > "$WORK/pkg/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "bench", platforms: [.macOS(.v15)],
    dependencies: [.package(name: "ResilientInference", path: "$ROOT")],
    targets: [.executableTarget(name: "bench", dependencies: [.product(name: "ResilientClient", package: "ResilientInference")])])
SWIFT
cp "$ROOT/Benchmarks/client-overhead/main.swift" "$WORK/pkg/Sources/bench/main.swift"
echo "building release bench…"
(cd "$WORK/pkg" && swift build -c release --product bench >"$WORK/build.log" 2>&1) || { tail -20 "$WORK/build.log"; exit 1; }
BIN="$WORK/pkg/.build/release/bench"

taskset -c 0 "$BIN" server "$PORT" >/dev/null & SERVER=$!
for _ in $(seq 50); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
echo "server on CPU 0, client on CPU 1"
taskset -c 1 "$BIN" client "http://127.0.0.1:$PORT" "$CALLS" "$CONCURRENCY" "$ROUNDS"
