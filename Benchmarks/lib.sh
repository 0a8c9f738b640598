# Shared by the benchmark scripts (sourced, not run): the work folder and its cleanup, tool checks, release
# builds, nginx as a reference server, and wrk runs. Servers are pinned to CPU 0, clients to CPU 1.
#
# bench_init NAME sets ROOT (the repository), WORK (a fresh /tmp/NAME.XXXXXX folder) and PIDS (processes to
# stop on exit) and installs the EXIT trap that stops them and removes WORK.

bench_init() {
  ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  WORK=$(mktemp -d "/tmp/$1.XXXXXX")
  PIDS=()
  trap bench_cleanup EXIT
}

bench_cleanup() {
  local pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && stop_process "$pid"; done
  rm -rf "$WORK"
}

# stop_process PID: SIGTERM, up to 10 s to exit, then SIGKILL.
stop_process() {
  kill "$1" 2>/dev/null || return 0
  for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

# stop_all: stops every process in PIDS (between the servers of one script).
stop_all() {
  local pid
  for pid in "${PIDS[@]:-}"; do [ -n "$pid" ] && stop_process "$pid"; done
  PIDS=()
}

# require_tools [--fail] TOOL…: a missing tool skips the benchmark (exit 0), or with --fail is an error (exit 1).
require_tools() {
  local fail=0 tool
  if [ "$1" = "--fail" ]; then fail=1; shift; fi
  for tool in "$@"; do
    command -v "$tool" >/dev/null && continue
    if [ "$fail" = 1 ]; then echo "error: $tool is not installed" >&2; exit 1; fi
    echo "$tool not installed; skipping"
    exit 0
  done
}

# build_release DIR [swift build arguments…]: a release build in DIR, logged to WORK; the log's tail on failure.
build_release() {
  local dir=$1
  shift
  (cd "$dir" && swift build -c release "$@" >"$WORK/build.log" 2>&1) || { tail -30 "$WORK/build.log"; exit 1; }
}

# throwaway_package NAME PRODUCT: writes WORK/pkg, an executable package NAME that depends on this repository
# by path and uses its library PRODUCT, so the repository needs no benchmark product. The caller writes
# WORK/pkg/Sources/NAME/main.swift, then builds with `build_release "$WORK/pkg" --product NAME`.
throwaway_package() {
  mkdir -p "$WORK/pkg/Sources/$1"
  cat > "$WORK/pkg/Package.swift" <<SWIFT
// swift-tools-version:6.0
import PackageDescription
let package = Package(name: "$1", platforms: [.macOS(.v15)],
    dependencies: [.package(name: "ResilientInference", path: "$ROOT")],
    targets: [.executableTarget(name: "$1", dependencies: [.product(name: "$2", package: "ResilientInference")])])
SWIFT
}

# wait_for_port PORT: waits up to 10 s until 127.0.0.1:PORT accepts connections.
wait_for_port() {
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# free_port: prints a port no one listens on now.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# start_nginx PORT LOCATION…: nginx with one worker, access log off and keep-alive without limit, listening on
# 127.0.0.1:PORT with the given location blocks, pinned to CPU 0 and added to PIDS; returns once it accepts.
# NGINX_CONNECTIONS (default 4096) sets worker_connections and, when set, the worker's open-file limit (raise
# `ulimit -n` too for more than about 1,000); NGINX_UNPINNED=1 leaves it on any CPU.
start_nginx() {
  local port=$1
  shift
  mkdir -p "$WORK/nginx/logs"
  cat > "$WORK/nginx/nginx.conf" <<CONF
worker_processes 1;${NGINX_CONNECTIONS:+
worker_rlimit_nofile $((NGINX_CONNECTIONS * 2 + 64));}
daemon off;
error_log $WORK/nginx/logs/error.log;
pid $WORK/nginx/nginx.pid;
events { worker_connections ${NGINX_CONNECTIONS:-4096}; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path $WORK/nginx; proxy_temp_path $WORK/nginx; fastcgi_temp_path $WORK/nginx;
  uwsgi_temp_path $WORK/nginx; scgi_temp_path $WORK/nginx;
  server {
    listen 127.0.0.1:$port;
    $*
  }
}
CONF
  local pin=(taskset -c 0)
  [ "${NGINX_UNPINNED:-0}" = 1 ] && pin=()
  "${pin[@]}" nginx -p "$WORK/nginx" -e "$WORK/nginx/logs/error.log" -c "$WORK/nginx/nginx.conf" &
  PIDS+=($!)
  wait_for_port "$port" || { echo "error: nginx did not start" >&2; cat "$WORK/nginx/logs/error.log" >&2; exit 1; }
}

# wrk_rps WRK-ARGUMENT… URL: runs wrk on CPU 1 and prints its requests/s.
wrk_rps() {
  taskset -c 1 wrk "$@" | awk '/Requests\/sec/ {print $2}'
}

# median NUMBER…: prints the median (the mean of the middle two for an even count); nothing for no numbers.
median() {
  [ $# -gt 0 ] || return 0
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# measure_process OUT COMMAND…: runs COMMAND under GNU time (/usr/bin/time; its exit code is returned) and
# writes to OUT one line `cpu_s user_s sys_s maxrss_kib max_fds wall_s`: its CPU time and peak RSS (exact, at
# its exit), the most file descriptors it had open (/proc/PID/fd, sampled every 0.1 s) and its wall time.
# COMMAND may be `taskset …`, which execs the program in the same process. (GNU time rather than wait4 from
# Python: a child forked by Python starts with Python's RSS as its peak, GNU time's with about 1.5 MiB.)
measure_process() {
  local out=$1
  shift
  [ -x /usr/bin/time ] || { echo "error: /usr/bin/time (GNU time) is not installed" >&2; exit 1; }
  python3 - "$out" "$@" <<'PY'
import os, subprocess, sys, time
out, argv = sys.argv[1], sys.argv[2:]
timing = out + ".time"
timer = subprocess.Popen(["/usr/bin/time", "-f", "%U %S %M %e", "-o", timing] + argv)
fds = 0
while timer.poll() is None:
    try:
        with open(f"/proc/{timer.pid}/task/{timer.pid}/children") as f:
            for child in f.read().split():
                fds = max(fds, len(os.listdir(f"/proc/{child}/fd")))
    except OSError:
        pass
    time.sleep(0.1)
try:
    with open(timing) as f:
        user, system, rss, wall = f.read().split()[-4:]
except (OSError, ValueError):
    user, system, rss, wall = "0", "0", "0", "0"
with open(out, "w") as f:
    f.write("%.3f %s %s %s %d %s\n" % (float(user) + float(system), user, system, rss, fds, wall))
sys.exit(timer.returncode)
PY
}

# client_bench_start: builds Benchmarks/client-overhead/main.swift (a throwaway package using ResilientClient),
# sets BIN to it and starts its server on PORT, pinned to CPU 0 (client-overhead.sh, client-instructions.sh).
client_bench_start() {
  throwaway_package bench ResilientClient
  cp "$ROOT/Benchmarks/client-overhead/main.swift" "$WORK/pkg/Sources/bench/main.swift"
  echo "building release bench…"
  build_release "$WORK/pkg" --product bench
  BIN="$WORK/pkg/.build/release/bench"
  taskset -c 0 "$BIN" server "$PORT" >/dev/null & PIDS+=($!)
  wait_for_port "$PORT" || true
  kill -0 "${PIDS[-1]}" 2>/dev/null || { echo "the bench server failed to start (port $PORT in use?)"; exit 1; }
}

# with_and_without SCENARIO KEY: writes WORK/with.json (scenarios/SCENARIO as shipped, its embedded model folder
# made absolute, since the copies live in WORK) and WORK/without.json (the same without client.KEY), for scripts
# that compare one client setting on and off (hedging.sh, adaptive-rate-limit.sh).
with_and_without() {
  python3 - "$ROOT" "$WORK" "$1" "$2" <<'PY'
import json, sys
root, work, name, key = sys.argv[1:5]
scenario = json.load(open(f"{root}/scenarios/{name}"))
embedded = scenario["target"]["embedded"]
embedded["modelDir"] = f"{root}/scenarios/{embedded['modelDir']}"
json.dump(scenario, open(f"{work}/with.json", "w"))
del scenario["client"][key]
json.dump(scenario, open(f"{work}/without.json", "w"))
PY
}

# rounds_with_and_without LABEL_WITH LABEL_WITHOUT: runs WORK/with.json and WORK/without.json with loadgen,
# interleaved ROUNDS times (the order alternating, so that neither always runs on a warmer machine), and
# prints each run through the caller's `report LABEL JSON`.
rounds_with_and_without() {
  local round variant label order
  for round in $(seq 1 "$ROUNDS"); do
    [ "$ROUNDS" -gt 1 ] && echo "round $round of $ROUNDS"
    if [ $((round % 2)) -eq 1 ]; then order="without with"; else order="with without"; fi
    for variant in $order; do
      "$LOADGEN" run "$WORK/$variant.json" --json "$WORK/$variant-$round.json" >/dev/null 2>"$WORK/$variant-$round.log" || true
      [ -s "$WORK/$variant-$round.json" ] || { tail -20 "$WORK/$variant-$round.log"; exit 1; }
      if [ "$variant" = with ]; then label=$1; else label=$2; fi
      report "$label" "$WORK/$variant-$round.json"
    done
  done
}

# wait_for_endpoint PID WHAT: waits (at most 120 s) for the "Endpoint is running at: http://H:P" line in
# WORK/server.out of the server PID started, and sets PORT; exits with WORK/server.err if it never comes.
wait_for_endpoint() {
  PORT=""
  for _ in $(seq 1 1200); do
    PORT=$(sed -n 's|^Endpoint is running at: http://[^:]*:\([0-9]*\)$|\1|p' "$WORK/server.out" | head -1)
    [ -n "$PORT" ] && return 0
    kill -0 "$1" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: $2 did not start" >&2
  cat "$WORK/server.err" >&2
  exit 1
}

# write_predict_lua: writes WORK/predict.lua, wrk's script for examples/trivial's POST /predict with {"x": 1}.
write_predict_lua() {
  cat > "$WORK/predict.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"x": 1}'
wrk.headers["Content-Type"] = "application/json"
LUA
}

# trivial_predict_endpoint: the endpoint side shared by the endpoint-vs-* scripts. Sets ROUTE (examples/trivial's
# POST /predict), writes WORK/predict.lua (wrk: that POST with {"x": 1}), builds release and sets BIN.
trivial_predict_endpoint() {
  ROUTE='{"verb": "POST", "path": "/predict", "file": "predict", "function": "predict", "positional": true, "body": [{"name": "x", "type": "int"}]}'
  write_predict_lua
  echo "building release…"
  build_release "$ROOT"
  BIN="$ROOT/.build/release/reference-endpoint"
}
