#!/usr/bin/env bash
# Prints requests/s for `GET /ping` served by NetIO's HTTPServer and by nginx (`return 200`), both measured with
# wrk in the same run, server pinned to CPU 0 and wrk to CPU 1. A benchmark prints figures; it never fails a test.
# Usage: Benchmarks/http-ping.sh [duration-seconds=5] [connections=64]
set -euo pipefail
DURATION=${1:-5}
CONNS=${2:-64}
source "$(dirname "$0")/lib.sh"
bench_init netio-ping
require_tools wrk taskset

throwaway_package ping ReferenceEndpoint
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
build_release "$WORK/pkg" --product ping
BIN="$WORK/pkg/.build/release/ping"

# Warm-up for a second, then measure GET http://127.0.0.1:$1/ping.
run_wrk() {
  wrk_rps -t1 -c"$CONNS" -d1s "http://127.0.0.1:$1/ping" >/dev/null
  wrk_rps -t1 -c"$CONNS" -d"${DURATION}s" "http://127.0.0.1:$1/ping"
}

taskset -c 0 "$BIN" 18080 >/dev/null & PIDS+=($!)
wait_for_port 18080
NETIO=$(run_wrk 18080)
stop_all

NGINX_RPS="n/a"
if command -v nginx >/dev/null; then
  start_nginx 18081 'location /ping { return 200 "pong"; }'
  NGINX_RPS=$(run_wrk 18081)
fi

echo "wrk -t1 -c$CONNS -d${DURATION}s, server on CPU 0, wrk on CPU 1"
echo "NetIO HTTPServer: $NETIO req/s"
echo "nginx return 200: $NGINX_RPS req/s"
if [ "$NGINX_RPS" != "n/a" ]; then
  awk -v a="$NETIO" -v b="$NGINX_RPS" 'BEGIN { printf "ratio NetIO/nginx: %.2f\n", a / b }'
fi
