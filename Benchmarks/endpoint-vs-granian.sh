#!/usr/bin/env bash
# Requests/s of the reference endpoint against Granian serving a bare RSGI app, in paired rounds:
#   ours     reference-endpoint --no-access-log serving examples/trivial (predict(x) -> {"y": x}, x: int)
#   granian  Granian 2.x, --interface rsgi --no-ws --no-access-log, GRANIAN_OPTS (below), serving
#            Benchmarks/peers/granian_rsgi_app.py: no framework, the same route and the same function imported
#            from examples/trivial, FastAPI's validation semantics (pydantic v2 model, lax coercion, FastAPI's
#            422/400 bodies), pydantic's model_validate_json and orjson on the hot path
# Loads: POST /predict with {"x": 1} (Content-Type: application/json, a wrk Lua script), and GET /ping as a side
# figure. Before measuring, both servers answer a few bodies (valid, coerced, invalid value, missing field,
# invalid JSON, empty, and GET /ping); any difference in status or JSON body is printed as a warning.
#
# Modes (CORES=1, CORES=2, or CORES=1,2 for both and the scaling factor 2-core/1-core of each server):
#   1 core   ours --workers 1 --loop-threads 1; granian --workers 1. The server (and its Python worker) alone,
#            pinned to CPU 0; wrk -t1 pinned to CPU 1.
#   2 cores  ours --workers 2 --loop-threads 2; granian --workers 2. Nothing pinned; wrk -t2.
# Each round starts each server in turn (alternating which goes first), warms it up (WARMUP seconds of
# /predict), measures /predict then /ping, and stops it. Prints every round's req/s and ratio ours/granian, then
# the median ratio with its range (min-max) and the median req/s of each side; the load average before and after;
# and any non-2xx responses or socket errors wrk reports.
#
# GRANIAN_OPTS default: --loop uvloop --runtime-mode st --runtime-threads 1, i.e. Granian's own choice for RSGI with
# uvloop installed, spelled out so that another installed loop (rloop, which `auto` prefers) cannot change it.
# Tried briefly on one core (2 s of /predict after 1 s of warm-up, 3 to 4 interleaved rounds per option, 2026-12-04,
# on the shared 2-core VM at load 1 to 5, so only large differences count): --loop rloop (Granian's Rust loop, a
# separate package) matched uvloop, never beat it clearly; --loop asyncio and --task-impl rust (experimental)
# were lower in most rounds; --runtime-threads 2 (multi-threaded Rust runtime, a second I/O thread on the same
# core), --http 1 and --backpressure 64 were no faster. --blocking-threads is at most 1 for RSGI (the one thread
# that runs Python), which is the default. Set GRANIAN_OPTS to try others on a quiet machine.
#
# A benchmark prints figures; it never fails a test. Python packages: pip install -r requirements-bench.txt
#
# Usage: [ROUNDS=5] [CORES=1|2|1,2] [WARMUP=2] [GRANIAN_OPTS=...] Benchmarks/endpoint-vs-granian.sh \
#          [duration-seconds=3] [connections=32]
set -euo pipefail
DURATION=${1:-3}
CONNS=${2:-32}
ROUNDS=${ROUNDS:-5}
CORES=${CORES:-1}
WARMUP=${WARMUP:-2}
GRANIAN_OPTS=${GRANIAN_OPTS:---loop uvloop --runtime-mode st --runtime-threads 1}
source "$(dirname "$0")/lib.sh"
bench_init endpoint-granian
require_tools --fail wrk taskset python3
python3 -c "import granian, pydantic" 2>/dev/null \
  || { echo "error: Granian peer missing: pip install -r $ROOT/requirements-bench.txt" >&2; exit 1; }
case "$GRANIAN_OPTS" in *uvloop*) python3 -c "import uvloop" 2>/dev/null \
  || { echo "error: uvloop missing: pip install -r $ROOT/requirements-bench.txt" >&2; exit 1; } ;; esac
case "$CORES" in 1 | 2 | 1,2) ;; *) echo "error: CORES must be 1, 2 or 1,2" >&2; exit 1 ;; esac
[ "$ROUNDS" -ge 1 ] && [ "$ROUNDS" -le 50 ] || { echo "error: ROUNDS must be 1 to 50" >&2; exit 1; }

trivial_predict_endpoint
PEERS="$ROOT/Benchmarks/peers"
# The peer serves PEER_MODEL_DIR/routes.json: the same route as ROUTE (lib.sh's trivial_predict_endpoint; checked
# below, not assumed).
export PEER_MODEL_DIR="$ROOT/examples/trivial"
python3 - "$ROUTE" "$PEER_MODEL_DIR/routes.json" <<'PY' || echo "warning: examples/trivial/routes.json is not the route measured on ours" >&2
import json, sys
sys.exit(0 if [json.loads(sys.argv[1])] == json.load(open(sys.argv[2]))["routes"] else 1)
PY
echo "granian $(python3 -m granian --version | awk '{print $NF}'), $(cd "$PEERS" \
  && python3 -c 'import sys, pydantic, granian_rsgi_app as a; print(f"pydantic {pydantic.VERSION}, encoder {a.ENCODER}, python {sys.version.split()[0]}")'), GRANIAN_OPTS: $GRANIAN_OPTS"

PIN=()      # the servers' CPU (1 core: taskset -c 0)
WRK_PIN=()  # wrk's CPU (1 core: taskset -c 1)
WRK_THREADS=1

# start_ours WORKERS: the reference endpoint; waits (at most 120 s) for its "Endpoint is running at" line, sets PORT.
start_ours() {
  "${PIN[@]}" "$BIN" --model-dir "$ROOT/examples/trivial" --route "$ROUTE" --port 0 \
    --workers "$1" --loop-threads "$1" --no-access-log >"$WORK/server.out" 2>"$WORK/server.err" &
  local pid=$!
  PIDS+=("$pid")
  wait_for_endpoint "$pid" "the endpoint"
}

# start_granian WORKERS: Granian on a free port; waits (at most 60 s) until GET /ping answers 200, sets PORT.
start_granian() {
  PORT=$(free_port)
  # shellcheck disable=SC2086  # GRANIAN_OPTS is a list of options
  "${PIN[@]}" python3 -m granian --interface rsgi --working-dir "$PEERS" --host 127.0.0.1 --port "$PORT" \
    --workers "$1" --no-ws --no-access-log --log-level warning $GRANIAN_OPTS granian_rsgi_app:app \
    >"$WORK/server.out" 2>"$WORK/server.err" &
  local pid=$!
  PIDS+=("$pid")
  for _ in $(seq 1 600); do
    ping_ok "$PORT" && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "error: granian did not start: $GRANIAN_OPTS" >&2; cat "$WORK/server.out" "$WORK/server.err" >&2; exit 1
}

# ping_ok PORT: whether GET /ping on 127.0.0.1:PORT answers 200 (one connection, bounded by a 2 s timeout).
ping_ok() {
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && printf "GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" >&3 && head -c 12 <&3 | grep -q " 200"' _ "$1" 2>/dev/null
}

# start SIDE: the server of SIDE (ours or granian) with the mode's worker count.
start() { if [ "$1" = ours ]; then start_ours "$MODE"; else start_granian "$MODE"; fi; }

# measure LABEL PATH [SCRIPT]: wrk against http://127.0.0.1:PORT$PATH; prints req/s, and on stderr any non-2xx
# count or socket errors.
measure() {
  local label=$1 path=$2 script=${3:-} out
  local args=(-t"$WRK_THREADS" -c"$CONNS" -d"${DURATION}s")
  [ -n "$script" ] && args+=(-s "$script")
  out=$("${WRK_PIN[@]}" wrk "${args[@]}" "http://127.0.0.1:$PORT$path")
  echo "$out" | grep -E "Non-2xx|Socket errors" | sed "s|^|  [$label $path] |" >&2 || true
  echo "$out" | awk '/Requests\/sec/ {print $2}'
}

# The answers of the server on PORT to the check cases, as JSON lines (status and body) in WORK/answers.SIDE.
answers() {
  python3 - "$PORT" >"$WORK/answers.$1" <<'PY'
import http.client, json, sys
CASES = [("POST", '{"x": 1}'), ("POST", '{"x": "2"}'), ("POST", '{"x": "a"}'), ("POST", "{}"),
         ("POST", '{"x": 1'), ("POST", ""), ("POST", "[1]"), ("GET", None)]
for method, body in CASES:
    conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=10)
    if method == "GET":
        conn.request("GET", "/ping")
    else:
        conn.request("POST", "/predict", body=body.encode(), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        parsed = json.loads(raw)
    except ValueError:
        parsed = {"not JSON": raw.decode("utf-8", "replace")}
    label = "GET /ping" if method == "GET" else f"POST /predict {body!r}"
    print(json.dumps({"case": label, "status": response.status, "body": parsed}))
PY
}

# check: both servers (one worker each) answer the check cases; differences are printed, never fatal.
check() {
  local side
  for side in ours granian; do
    if [ "$side" = ours ]; then start_ours 1; else start_granian 1; fi
    answers "$side" || echo "warning: the $side answers could not be read" >&2
    stop_all
  done
  python3 - "$WORK/answers.ours" "$WORK/answers.granian" <<'PY' || true
import json, sys
ours, peer = ([json.loads(line) for line in open(path)] for path in sys.argv[1:3])
differences = 0
for a, b in zip(ours, peer):
    if (a["status"], a["body"]) != (b["status"], b["body"]):
        differences += 1
        print(f"warning: {a['case']} answered differently:")
        print(f"  ours     {a['status']} {json.dumps(a['body'])}")
        print(f"  granian  {b['status']} {json.dumps(b['body'])}")
if len(ours) != len(peer):
    differences += 1
    print(f"warning: {len(ours)} answers from ours, {len(peer)} from granian")
print(f"checks: {len(ours) - differences} of {len(ours)} answers alike (status and JSON body)"
      + ("" if differences == 0 else f"; {differences} differ (see the warnings above)"))
PY
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "n/a" }'; }
# stats V…: "median min max" of the numbers given.
stats() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    printf "%.2f %.2f %.2f", m, v[1], v[NR] }'
}

declare -A MEDIAN  # MEDIAN[MODE,SIDE,PATH]: median req/s
# run_mode MODE: ROUNDS paired rounds with MODE cores (1 or 2).
run_mode() {
  MODE=$1
  if [ "$MODE" = 1 ]; then
    PIN=(taskset -c 0); WRK_PIN=(taskset -c 1); WRK_THREADS=1
    local where="server (and its Python worker) on CPU 0, wrk -t1 on CPU 1"
    local sides="ours --workers 1 --loop-threads 1; granian --workers 1"
  else
    PIN=(); WRK_PIN=(); WRK_THREADS=2
    local where="nothing pinned, wrk -t2"
    local sides="ours --workers 2 --loop-threads 2; granian --workers 2"
  fi
  echo
  echo "== $MODE core(s): $sides; $where; wrk -c$CONNS -d${DURATION}s after ${WARMUP}s of warm-up per start"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
  local round side first ours_p gran_p ours_g gran_g
  local -a rp rg op gp og gg
  printf "%-6s %-8s %14s %14s %7s %12s %12s %7s\n" round first "ours /predict" "granian" ratio \
    "ours /ping" "granian" ratio
  for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) = 1 ]; then set -- ours granian; else set -- granian ours; fi
    first=$1
    for side in "$@"; do
      start "$side"
      "${WRK_PIN[@]}" wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" -s "$WORK/predict.lua" \
        "http://127.0.0.1:$PORT/predict" >/dev/null
      if [ "$side" = ours ]; then
        ours_p=$(measure "round $round ours" /predict "$WORK/predict.lua")
        ours_g=$(measure "round $round ours" /ping)
      else
        gran_p=$(measure "round $round granian" /predict "$WORK/predict.lua")
        gran_g=$(measure "round $round granian" /ping)
      fi
      stop_all
    done
    op+=("$ours_p"); gp+=("$gran_p"); og+=("$ours_g"); gg+=("$gran_g")
    rp+=("$(ratio "$ours_p" "$gran_p")"); rg+=("$(ratio "$ours_g" "$gran_g")")
    printf "%-6s %-8s %14s %14s %7s %12s %12s %7s\n" "$round" "$first" "$ours_p" "$gran_p" "${rp[-1]}" \
      "$ours_g" "$gran_g" "${rg[-1]}"
  done
  echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
  local s
  read -r "MEDIAN[$MODE,ours,predict]" _ _ <<<"$(stats "${op[@]}")"
  read -r "MEDIAN[$MODE,granian,predict]" _ _ <<<"$(stats "${gp[@]}")"
  read -r "MEDIAN[$MODE,ours,ping]" _ _ <<<"$(stats "${og[@]}")"
  read -r "MEDIAN[$MODE,granian,ping]" _ _ <<<"$(stats "${gg[@]}")"
  s=($(stats "${rp[@]}"))
  echo "$MODE core(s) POST /predict ours/granian: median ${s[0]} (range ${s[1]}-${s[2]}) over $ROUNDS rounds;" \
    "median req/s: ours ${MEDIAN[$MODE,ours,predict]}, granian ${MEDIAN[$MODE,granian,predict]}"
  s=($(stats "${rg[@]}"))
  echo "$MODE core(s) GET /ping     ours/granian: median ${s[0]} (range ${s[1]}-${s[2]}) over $ROUNDS rounds;" \
    "median req/s: ours ${MEDIAN[$MODE,ours,ping]}, granian ${MEDIAN[$MODE,granian,ping]}"
}

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
check
for mode in ${CORES//,/ }; do run_mode "$mode"; done
if [ "$CORES" = 1,2 ]; then
  echo
  echo "scaling 2 cores / 1 core (median req/s):"
  for side in ours granian; do
    echo "  $side: POST /predict $(ratio "${MEDIAN[2,$side,predict]}" "${MEDIAN[1,$side,predict]}")," \
      "GET /ping $(ratio "${MEDIAN[2,$side,ping]}" "${MEDIAN[1,$side,ping]}")"
  done
fi
echo "load average after:  $(cut -d' ' -f1-3 /proc/loadavg)"
