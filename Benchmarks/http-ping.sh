#!/usr/bin/env bash
# Prints requests/s for `GET /ping` served by NetIO's HTTPServer and by nginx (`return 200`), both measured with
# wrk in the same run, server pinned to CPU 0 and wrk to CPU 1. A benchmark prints figures; it never fails a test.
# Usage: Benchmarks/http-ping.sh [duration-seconds=5] [connections=64]
set -euo pipefail
DURATION=${1:-5}
CONNS=${2:-64}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d /tmp/netio-ping.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do [ -n "$p" ] && kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk not installed"; exit 0; }

# A throwaway package that depends on this one by path, so the repository needs no benchmark product.
mkdir -p "$WORK/pkg/Sources/ping"
cat > "$WORK/pkg/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "ping", platforms: [.macOS(.v15)],
    dependencies: [.package(name: "ResilientInference", path: "$ROOT")],
    targets: [.executableTarget(name: "ping", dependencies: [.product(name: "ReferenceEndpoint", package: "ResilientInference")])])
SWIFT
cat > "$WORK/pkg/Sources/ping/main.swift" <<'SWIFT'
import Glibc
import NetIO
let port = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 18080
let pong: [UInt8] = Array("pong".utf8)
let group = try EventLoopGroup(threads: 1, name: "ping")
let server = try HTTPServer(group: group, port: port) { _, responder in
    responder.respond(status: 200, headers: [("Content-Type", "text/plain")], body: pong)
}
print("listening on \(server.port)")
while true { sleep(1000) }
SWIFT
echo "building release ping server…"
(cd "$WORK/pkg" && swift build -c release --product ping >"$WORK/build.log" 2>&1) || { tail -20 "$WORK/build.log"; exit 1; }
BIN="$WORK/pkg/.build/release/ping"

run_wrk() { taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$1/ping" | awk '/Requests\/sec/ {print $2}'; }

taskset -c 0 "$BIN" 18080 >/dev/null & PIDS+=($!)
sleep 0.5
taskset -c 1 wrk -t1 -c"$CONNS" -d1s http://127.0.0.1:18080/ping >/dev/null   # warm-up
NETIO=$(run_wrk 18080)
kill "${PIDS[0]}"; PIDS=()

NGINX_RPS="n/a"
if command -v nginx >/dev/null; then
  mkdir -p "$WORK/nginx/logs"
  cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
error_log $WORK/nginx/logs/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server { listen 127.0.0.1:18081; location /ping { return 200 "pong"; } }
}
CONF
  taskset -c 0 nginx -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" & PIDS+=($!)
  sleep 0.5
  taskset -c 1 wrk -t1 -c"$CONNS" -d1s http://127.0.0.1:18081/ping >/dev/null
  NGINX_RPS=$(run_wrk 18081)
fi

echo "wrk -t1 -c$CONNS -d${DURATION}s, server on CPU 0, wrk on CPU 1"
echo "NetIO HTTPServer: $NETIO req/s"
echo "nginx return 200: $NGINX_RPS req/s"
if [ "$NGINX_RPS" != "n/a" ]; then
  awk -v a="$NETIO" -v b="$NGINX_RPS" 'BEGIN { printf "ratio NetIO/nginx: %.2f\n", a / b }'
fi
