#!/usr/bin/env bash
# CPU µs per call of the Python worker's inline loop (threads <= 1), the Python side of every request, without
# the endpoint: examples/trivial (predict(x) -> {"y": x}, positional) called with {"x":1}, in BATCHES CALLS
# frames of BATCH calls each.
#
# It times the real script embedded in Sources/ReferenceEndpoint/Workers/WorkerScript.swift (the text between
# `static let source = #"""` and `"""#`), run without its final `main()` line in a module of its own: the route
# comes from the script's `_setup`, the worker is its `_Worker`, and the loop is its `_serve_inline` with its
# `_Reader` (each frames() call finds one CALLS frame already in the buffer, as after a read of the request pipe;
# the read itself is left out), a progress board in anonymous shared memory, and RESULTS frames written to
# /dev/null. The figure is the process's CPU time (not wall time) over the calls made, start to end of the loop.
#
# Each VERSION is a git revision of this repository (main, HEAD~2, ...), a WorkerScript.swift file, or a folder
# holding the repository (. for the working tree); none means the working tree. Every version is loaded into the
# same Python process and the versions take turns: REPEATS short rounds, the order alternating, so that a busy
# machine slows all of them alike (rounds of about 50 ms: on the shared 2-core VM at load 3, main against itself
# came out within 0.2% with 60 rounds of 1,000 batches, but 6% apart with 15 rounds of 5,000). Before timing,
# each version answers one batch whose RESULTS frame is checked against the first version's (call ids, statuses
# and payloads; micros aside): any difference is printed.
# Prints every round, then per version the best and the median µs per call and, for each later version, the
# median of its per-round ratios to the first (below 1: cheaper). Pinned to CPU 0 when taskset is present.
#
# A benchmark prints figures; it never fails a test.
#
# Usage: [BATCHES=1000] [BATCH=16] [REPEATS=60] [PYTHON=python3] Benchmarks/worker-calls.sh [VERSION ...]
#   e.g. Benchmarks/worker-calls.sh main .     (main against the working tree, side by side)
set -euo pipefail
BATCHES=${BATCHES:-1000}
BATCH=${BATCH:-16}
REPEATS=${REPEATS:-60}
PYTHON=${PYTHON:-python3}
source "$(dirname "$0")/lib.sh"
bench_init worker-calls
require_tools "$PYTHON"
SCRIPT_PATH=Sources/ReferenceEndpoint/Workers/WorkerScript.swift

[ $# -gt 0 ] || set -- "$ROOT"
LABELS=()
i=0
for version in "$@"; do
  if [ -f "$version" ]; then
    cp "$version" "$WORK/$i.swift"
  elif [ -d "$version" ]; then
    cp "$version/$SCRIPT_PATH" "$WORK/$i.swift" || { echo "error: no $SCRIPT_PATH in $version" >&2; exit 1; }
  elif ! git -C "$ROOT" show "$version:$SCRIPT_PATH" >"$WORK/$i.swift" 2>/dev/null; then
    echo "error: $version is neither a file, a folder nor a git revision with $SCRIPT_PATH" >&2
    exit 1
  fi
  [ "$version" = "$ROOT" ] && version="working tree"
  LABELS+=("$version")
  i=$((i + 1))
done

PIN=()
command -v taskset >/dev/null && PIN=(taskset -c 0)
echo "worker inline loop: $BATCHES batches of $BATCH calls per round, $REPEATS rounds, $("$PYTHON" --version 2>&1)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg)"
"${PIN[@]}" "$PYTHON" - "$ROOT/examples/trivial" "$WORK" "$BATCHES" "$BATCH" "$REPEATS" "${LABELS[@]}" <<'PY'
import json, mmap, os, re, statistics, struct, sys, time, types

model_dir, work, batches, batch, repeats = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
labels = sys.argv[6:]
config = {"model_dir": model_dir, "threads": 1, "delay_ms": 0, "worker": 0,
          "routes": [{"verb": "POST", "path": "/predict", "file": "predict", "function": "predict",
                      "positional": True, "params": [{"name": "x", "optional": False, "default": None}]}]}
args = b'{"x":1}'
frame_body = bytes((2,)) + b"".join(struct.pack("<QHI", i + 1, 0, len(args)) + args for i in range(batch))
frame = struct.pack("<I", len(frame_body)) + frame_body


def load(index, label):
    text = open(os.path.join(work, f"{index}.swift"), encoding="utf-8").read()
    found = re.search(r'static let source = #"""\n(.*?)\n"""#', text, re.S)
    if found is None:
        sys.exit(f"{label}: no `static let source = #\"\"\"` … `\"\"\"#` in WorkerScript.swift")
    source = found.group(1)
    body, call = source.rstrip().rsplit("\n", 1)
    if call.strip() != "main()":
        sys.exit(f"{label}: the script does not end with `main()`")
    module = types.ModuleType(f"worker_script_{index}")
    exec(compile(body, f"<{label}: WorkerScript.swift>", "exec"), module.__dict__)
    return module


class Version:
    def __init__(self, index, label):
        self.index, self.label = index, label
        self.script = script = load(index, label)
        routes = script._setup(json.loads(json.dumps(config)))
        self.null = os.open(os.devnull, os.O_WRONLY)
        self.worker = script._Worker(routes, self.null, 0.0, 1)
        self.board = mmap.mmap(-1, mmap.PAGESIZE)

        class Feed(script._Reader):
            """The script's reader, given one CALLS frame before each frames() call (no pipe read)."""
            def __init__(self, count):
                super().__init__(-1)
                self.left = count

            def frames(self):
                if not self.left:
                    return None
                self.left -= 1
                self.buf += frame
                return super().frames()

        self.feed = Feed

    def run(self, count, fd=None):
        """CPU seconds for `count` batches through the script's _serve_inline."""
        worker = self.worker
        if fd is not None:
            worker.resp_fd = fd
        reader = self.feed(count)
        began = time.process_time()
        self.script._serve_inline(reader, worker, self.board)
        took = time.process_time() - began
        worker.resp_fd = self.null
        return took

    def answers(self):
        """One batch's RESULTS frame, micros zeroed: [(call id, status, payload)]."""
        path = os.path.join(work, "results")
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        self.run(1, fd)
        os.close(fd)
        data = open(path, "rb").read()
        if len(data) < 5 or data[4] != 3 or struct.unpack_from("<I", data)[0] != len(data) - 4:
            return [("not one RESULTS frame", data[:40])]
        pos, out = 5, []
        while pos < len(data):
            call_id, status, _micros, n = struct.unpack_from("<QBII", data, pos)
            pos += 17
            out.append((call_id, status, data[pos:pos + n]))
            pos += n
        return out


versions = [Version(i, label) for i, label in enumerate(labels)]
expected = versions[0].answers()
if [p for _, _, p in expected[:1]] != [b'{"y":1}']:
    print(f"warning: {labels[0]} answered {expected[:1]}, not {{\"y\":1}}")
for v in versions[1:]:
    got = v.answers()
    if got != expected:
        print(f"warning: {v.label} answers differently from {labels[0]}: {got[:2]} vs {expected[:2]}")

for v in versions:
    v.run(max(1, batches // 10))  # warm-up
calls = batches * batch
width = max(12, *(len(l) for l in labels))
per_call = [[] for _ in versions]
print(f"{'round':>5}  " + "  ".join(f"{l:>{width}}" for l in labels) + "   (CPU µs per call)")
for r in range(repeats):
    order = versions if r % 2 == 0 else versions[::-1]
    for v in order:
        per_call[v.index].append(v.run(batches) * 1e6 / calls)
    print(f"{r + 1:>5}  " + "  ".join(f"{times[-1]:>{width}.3f}" for times in per_call))
print()
first = per_call[0]
for index, (label, times) in enumerate(zip(labels, per_call)):
    line = f"{label:>{width}}: best {min(times):.3f} µs/call, median {statistics.median(times):.3f} µs/call"
    if index:
        ratio = statistics.median(t / f for t, f in zip(times, first))
        line += f", median ratio to {labels[0]} {ratio:.3f} ({(ratio - 1) * 100:+.1f}%)"
    print(line)
PY
