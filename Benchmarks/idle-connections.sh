#!/usr/bin/env bash
# The endpoint's memory per idle keep-alive connection: opens N connections (default 10,000) on 127.0.0.1, sends
# one GET /ping on each and keeps them open, and prints the endpoint's RSS before and after and the difference
# per connection. Then checks that a new client is still answered and that closing them all frees the slots.
#
#   Benchmarks/idle-connections.sh [N]          # BUILD=debug uses the debug build instead of a release build
#
# Bounded: every socket operation has a timeout, the client gives up after 120 s, loopback only. Both processes
# raise their open-file limit to the hard limit (N + 200 descriptors are needed on each side).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bench_init idle-connections
require_tools --fail python3

COUNT=${1:-10000}
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && [ "$HARD" -lt $((COUNT + 200)) ]; then
  echo "error: the hard open-file limit ($HARD) is below $((COUNT + 200)); lower N or raise it" >&2
  exit 1
fi
ulimit -n "$HARD"

if [ "${BUILD:-release}" = debug ]; then
  (cd "$ROOT" && swift build --product reference-endpoint >"$WORK/build.log" 2>&1) || { tail -30 "$WORK/build.log"; exit 1; }
  BIN="$ROOT/.build/debug/reference-endpoint"
else
  build_release "$ROOT" --product reference-endpoint
  BIN="$ROOT/.build/release/reference-endpoint"
fi

PORT_FILE="$WORK/ready"
"$BIN" --model-dir "$ROOT/examples/trivial" --routes-file "$ROOT/examples/trivial/routes.json" --port 0 \
  --workers 1 --loop-threads 1 --no-access-log --idle-timeout 10m --max-connections $((COUNT + 100)) \
  >"$PORT_FILE" 2>"$WORK/endpoint.log" &
PIDS+=($!)
ENDPOINT=$!
for _ in $(seq 1 300); do grep -q "running at" "$PORT_FILE" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^Endpoint is running at: //p' "$PORT_FILE")
[ -n "$URL" ] || { echo "error: the endpoint did not start"; cat "$WORK/endpoint.log"; exit 1; }
PORT=${URL##*:}

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$ENDPOINT/status"; }

timeout 180 python3 - "$PORT" "$COUNT" "$ENDPOINT" <<'PY'
import resource, selectors, socket, sys, time

port, count, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
request = b"GET /ping HTTP/1.1\r\nHost: bench\r\n\r\n"
deadline = time.monotonic() + 120

def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

def ping_once():
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = s.recv(4096)
        return data.startswith(b"HTTP/1.1 200")

# Warm up: the first connections grow the loop's tables and the allocator's arenas.
for _ in range(20):
    assert ping_once(), "warm-up /ping failed"
time.sleep(0.5)
before = rss_kib()

sockets = []
selector = selectors.DefaultSelector()
answered = 0
try:
    for i in range(count):
        if time.monotonic() > deadline:
            sys.exit(f"gave up after 120 s with {len(sockets)} connections open")
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(request)
        s.setblocking(False)
        selector.register(s, selectors.EVENT_READ)
        sockets.append(s)
        # Keep the number of unread answers small.
        while len(sockets) - answered > 256:
            for key, _ in selector.select(timeout=10):
                if key.fileobj.recv(4096).startswith(b"HTTP/1.1 200"):
                    answered += 1
                selector.unregister(key.fileobj)
    while answered < count and time.monotonic() < deadline:
        events = selector.select(timeout=10)
        if not events:
            break
        for key, _ in events:
            if key.fileobj.recv(4096).startswith(b"HTTP/1.1 200"):
                answered += 1
            selector.unregister(key.fileobj)
    time.sleep(1.0)
    after = rss_kib()
    print(f"connections open and answered: {answered} of {count}")
    print(f"endpoint RSS before: {before} KiB, with {count} idle keep-alive connections: {after} KiB")
    print(f"RSS per idle connection: {(after - before) * 1024 / count:.0f} bytes")
    print(f"a new client is answered while they are open: {ping_once()}")
finally:
    for s in sockets:
        s.close()
time.sleep(1.0)
print(f"endpoint RSS after closing them all: {rss_kib()} KiB; a new client is answered: {ping_once()}")
PY
