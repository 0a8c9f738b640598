"""Usage: python3 Benchmarks/worker-large-body.py REPO_ROOT 7,28,56 [rounds=3]

Drives the endpoint's Python worker (extracted from WorkerScript.swift) directly over pipes: one call with a
{"text": "aaa…"} argument of N MiB to examples/echo, timing per stage from the driver's side:
write of the CALLS frame, wait for the first result byte, read of the whole result frame."""
import json, os, re, struct, subprocess, sys, time

root = sys.argv[1]
sizes = [int(x) for x in sys.argv[2].split(",")]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
swift = open(os.path.join(root, "Sources/ReferenceEndpoint/Workers/WorkerScript.swift")).read()
source = swift[swift.index('#"""') + 5: swift.rindex('"""#')]

req_r, req_w = os.pipe()
res_r, res_w = os.pipe()
proc = subprocess.Popen([sys.executable, "-c", source, str(req_r), str(res_w), "-1"], pass_fds=(req_r, res_w))
os.close(req_r); os.close(res_w)

def frame(kind, body):
    return struct.pack("<I", len(body) + 1) + bytes((kind,)) + body

config = {"model_dir": os.path.join(root, "examples/echo"), "threads": 1, "delay_ms": 0, "worker": 0,
          "routes": [{"verb": "POST", "path": "/predict", "file": "predict", "function": "predict",
                      "positional": False, "params": [{"name": "text", "optional": False, "default": None}]}]}
os.write(req_w, frame(1, json.dumps(config).encode()))

def read_exact(n):
    parts = []
    while n:
        chunk = os.read(res_r, min(n, 1 << 20))
        if not chunk: raise SystemExit("worker closed")
        parts.append(chunk); n -= len(chunk)
    return b"".join(parts)

def read_frame():
    (length,) = struct.unpack("<I", read_exact(4))
    t = time.perf_counter()
    body = read_exact(length)
    return body[0], body[1:], t

kind, body, _ = read_frame()
assert kind == 1, body
call_id = 0
for mb in sizes:
    args = json.dumps({"text": "a" * (mb << 20)}).encode()
    times = []
    for _ in range(rounds):
        call_id += 1
        payload = frame(2, struct.pack("<QHI", call_id, 0, len(args)) + args)
        t0 = time.perf_counter()
        view = memoryview(payload)
        while view:
            view = view[os.write(req_w, view):]
        t1 = time.perf_counter()
        kind, body, first = read_frame()
        t2 = time.perf_counter()
        assert kind == 3
        times.append((t2 - t0, t1 - t0, first - t1, t2 - first))
    times.sort()
    total, write, wait, read = times[len(times) // 2]
    print(f"{mb:4d} MiB  total {total:.3f}s ({len(args) / 1e6 / total:6.1f} MB/s)  write {write:.3f}  "
          f"then first result byte {wait:.3f}  result read {read:.3f}", flush=True)
os.close(req_w)
proc.wait()
