/// The Python side of the worker pool, embedded so that the `reference-endpoint` binary is self-contained:
/// it runs as `python3 -c <source> 3 4` (request and result descriptors). Edit it here; it is plain Python.
enum WorkerScript {
    /// The worker program.
    static let source = #"""
# Reference endpoint Python worker. Started by WorkerPool as `python3 -c <this script> REQ_FD RESP_FD BOARD_FD`.
#
# BOARD_FD (-1 when absent) is shared memory with one u64 slot per call thread: before running a call, the
# thread writes its call id there, so that when the worker is killed the pool knows which calls never started.
#
# Protocol (all integers little-endian). Every frame: u32 length (of what follows), u8 kind, body.
#   pool -> worker  kind 1 CONFIG  body = UTF-8 JSON {model_dir, threads, delay_ms, worker, routes:[...],
#                                  memory_bytes (optional: RLIMIT_AS, set before the model is imported)}
#                   kind 2 CALLS   body = repeated (u64 call id, u16 route, u32 n, n bytes of JSON arguments object)
#   worker -> pool  kind 1 READY   body = UTF-8 description of the interpreter
#                   kind 2 FAILED  body = UTF-8 startup error message (the worker then exits)
#                   kind 3 RESULTS body = repeated (u64 call id, u8 status, u32 micros, u32 n, n bytes)
#                                  status 0: n bytes of JSON; status 1: exception "Type\0message"
# fd 1 is made a copy of fd 2, so print() and C-level stdout writes land in the endpoint log, never in the
# protocol, whose descriptors are private (passed in argv). A process the model forks never speaks the protocol:
# in the child both descriptors are pointed at /dev/null, and a child that returns from the model's function
# into this loop exits at once instead of answering (its answer would be a second one for the same call).
import ast
import atexit
import copy
import importlib.util
import json
import mmap
import os
import signal
import struct
import sys
import threading
import time
import traceback

_LEN = struct.Struct("<I")
_CALL = struct.Struct("<QHI")
_RESULT = struct.Struct("<QBII")
_SLOT = struct.Struct("<Q")
_CONFIG, _CALLS = 1, 2
_READY, _FAILED, _RESULTS = 1, 2, 3
_OK, _EXC = 0, 1
_FLUSH_NS = 2_000_000  # threads=1: results of a long batch go out at least every 2 ms
_SCALARS = (int, float, str, bool, bytes, type(None), complex)


class StartupError(Exception):
    pass


def _write_all(fd, data):
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _send(fd, kind, body):
    _write_all(fd, _LEN.pack(len(body) + 1) + bytes((kind,)) + body)


class _Reader:
    def __init__(self, fd):
        self.fd = fd
        self.buf = bytearray()

    def frames(self):
        """Blocks until at least one whole frame is buffered; returns [(kind, start, end)] into self.buf
        (the caller must call consume() afterwards), or None at end of file."""
        while True:
            buf = self.buf
            size = len(buf)
            pos = 0
            out = []
            need = 4
            while size - pos >= 4:
                (length,) = _LEN.unpack_from(buf, pos)
                if size - pos - 4 < length:
                    need = length + 4 - (size - pos)
                    break
                out.append((buf[pos + 4], pos + 5, pos + 4 + length))
                pos += 4 + length
            if out:
                self.consumed = pos
                return out
            data = os.read(self.fd, max(need, 1 << 16))
            if not data:
                return None
            buf += data

    def consume(self):
        del self.buf[: self.consumed]


def _default(obj):
    tolist = getattr(obj, "tolist", None)
    if callable(tolist):
        return tolist()
    item = getattr(obj, "item", None)
    if callable(item):
        return item()
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _make_encode():
    """A result encoder for one thread: json's C encoder called directly (half of `JSONEncoder.encode`'s time
    for small results), with the same options and circular-reference check; `JSONEncoder.encode` where the C
    encoder is missing. Its check keeps state between calls, hence one per thread."""
    slow = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=_default).encode
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return slow
    markers = {}
    try:
        fast = make(markers, _default, json.encoder.encode_basestring, None, ":", ",", False, False, False)
    except TypeError:  # another signature in another Python
        return slow
    join = "".join

    def encode(value):
        try:
            return join(fast(value, 0))
        except BaseException:
            markers.clear()  # an error midway leaves the ids of the objects it was in
            raise

    return encode


def _per_thread_encode():
    """`_make_encode` for calls that run on several threads: each thread makes its own on its first result."""
    local = threading.local()

    def encode(value):
        own = getattr(local, "encode", None)
        if own is None:
            own = local.encode = _make_encode()
        return own(value)

    return encode


_scan = json.decoder.JSONDecoder().scan_once


def _loads(raw):
    """A call's arguments: a JSON object the endpoint wrote (UTF-8, nothing around it), parsed by json's C
    scanner without `json.loads`'s encoding detection (a sixth of its time); anything else goes through
    `json.loads`, for its error."""
    try:
        text = raw.decode()
        value, end = _scan(text, 0)
        if end == len(text):
            return value
    except Exception:
        pass
    return json.loads(raw)


def _exception_payload(exc):
    text = f"{type(exc).__name__}\0{exc}"
    return text.encode("utf-8", "backslashreplace")


class _Route:
    def __init__(self, label, fn, positional, params, function, display):
        self.label = label
        self.fn = fn
        self.positional = positional
        self.params = params  # [(name, has_default, default, needs_copy)]
        self.function = function
        self.display = display

    def invoke(self, arguments):
        values = []
        for name, has_default, default, needs_copy in self.params:
            if name in arguments:
                values.append(arguments[name])
            elif has_default:
                values.append(copy.deepcopy(default) if needs_copy else default)
            else:
                raise TypeError(f"missing required argument '{name}'")
        if self.positional:
            return self.fn(*values)
        return self.fn(**{p[0]: v for p, v in zip(self.params, values)})


def _load_module(model_dir, file_name, label, modules):
    display = file_name if file_name.endswith(".py") else file_name + ".py"
    path = os.path.realpath(os.path.join(model_dir, display))
    if os.path.commonpath([path, model_dir]) != model_dir:
        raise StartupError(f"{label}: file '{file_name}' resolves outside the model folder {model_dir}")
    if not os.path.isfile(path):
        raise StartupError(f"{label}: model file {display} not found in {model_dir}")
    if path in modules:
        return modules[path], display
    name = os.path.relpath(path, model_dir)[:-3].replace(os.sep, ".")
    existing = sys.modules.get(name)
    if existing is not None and os.path.realpath(getattr(existing, "__file__", "") or "") == path:
        modules[path] = existing
        return existing, display
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    registered = name not in sys.modules
    if registered:
        sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException as exc:  # the model's import-time code: report whatever it raised
        if registered:
            sys.modules.pop(name, None)
        sys.stderr.write(f"importing {display} failed:\n{traceback.format_exc()}")
        raise StartupError(f"{label}: importing {display} failed: {type(exc).__name__}: {exc}") from None
    modules[path] = module
    return module, display


def _setup(config):
    model_dir = os.path.realpath(config["model_dir"])
    if not os.path.isdir(model_dir):
        raise StartupError(f"model directory {config['model_dir']} not found")
    os.chdir(model_dir)
    sys.path[:] = [model_dir] + [p for p in sys.path if p not in ("", ".", model_dir)]
    modules = {}
    routes = []
    for spec in config["routes"]:
        label = f"route {spec['verb']} {spec['path']}"
        module, display = _load_module(model_dir, spec["file"], label, modules)
        function = spec["function"]
        fn = getattr(module, function, None)
        if fn is None:
            raise StartupError(f"{label}: function '{function}' not found in {display}")
        if not callable(fn):
            raise StartupError(f"{label}: '{function}' in {display} is not callable")
        params = []
        for param in spec["params"]:
            name = param["name"]
            if not param["optional"]:
                params.append((name, False, None, False))
                continue
            source = param["default"]
            if source is None:
                value = None
            else:
                try:
                    value = ast.literal_eval(source)
                except Exception as exc:
                    raise StartupError(
                        f"{label}: default_value for '{name}' is not a valid Python literal: {source}"
                        f" ({type(exc).__name__}: {exc})") from None
            params.append((name, True, value, not isinstance(value, _SCALARS)))
        routes.append(_Route(label, fn, spec["positional"], params, function, display))
    return routes


class _Worker:
    def __init__(self, routes, resp_fd, delay, threads):
        self.routes = routes
        self.resp_fd = resp_fd
        self.delay = delay
        self.encode = _make_encode() if threads <= 1 else _per_thread_encode()

    def execute(self, route_index, raw):
        """Runs one call; returns (status, payload bytes)."""
        route = None
        try:
            route = self.routes[route_index]
            arguments = _loads(raw)
            if self.delay:
                time.sleep(self.delay)
            result = route.invoke(arguments)
            _exit_if_forked()
        except BaseException as exc:  # the model's exception becomes the call's result
            _exit_if_forked()
            where = route.label if route is not None else f"route #{route_index}"
            name = route.function if route is not None else "?"
            sys.stderr.write(f"{where}: {name}() raised {type(exc).__name__}: {exc}\n{traceback.format_exc()}")
            return _EXC, _exception_payload(exc)
        try:
            return _OK, self.encode(result).encode()
        except BaseException as exc:
            sys.stderr.write(f"{route.label}: result of {route.function}() not encodable: {type(exc).__name__}: {exc}\n")
            return _EXC, _exception_payload(exc)

    def send_results(self, results):
        if os.getpid() != _WORKER_PID:  # a child sharing the worker's memory, which _ALIVE cannot tell apart
            _exit_forked()
        parts = []
        append = parts.append
        pack = _RESULT.pack
        for call_id, status, micros, payload in results:
            append(pack(call_id, status, micros if micros < 0xFFFFFFFF else 0xFFFFFFFF, len(payload)))
            append(payload)
        body = b"".join(parts)
        _write_all(self.resp_fd, _LEN.pack(len(body) + 1) + bytes((_RESULTS,)) + body)


_WORKER_PID = os.getpid()


class _PidCheck:
    """`_ALIVE` where no page can be wiped at fork: item 0 is 1 in the worker, 0 in any other process."""

    def __getitem__(self, index):
        return 1 if os.getpid() == _WORKER_PID else 0


def _alive_flag():
    """A byte that reads 1 in the worker and 0 in every process forked from it, however it was forked (os.fork,
    multiprocessing, fork() called from C, for which no at-fork hook runs): a private anonymous page that the
    kernel gives children zero-filled (MADV_WIPEONFORK, Linux 4.14+), so that the check after every call costs
    an index where os.getpid() costs a system call (about 8% of a trivial call's time in the worker). Elsewhere,
    or if the kernel refuses, the check compares getpid() as before. A child that shares the worker's memory
    (vfork, clone with CLONE_VM; undefined behaviour if it returns into Python) sees the page as it is:
    `send_results` compares getpid() before every frame, so that it never answers either."""
    if sys.platform.startswith("linux"):
        try:
            page = mmap.mmap(-1, mmap.PAGESIZE, flags=mmap.MAP_PRIVATE)
            page.madvise(getattr(mmap, "MADV_WIPEONFORK", 18))  # 18 in <linux/mman.h>; not every Python names it
            page[0] = 1
            return page
        except (AttributeError, OSError, ValueError):
            pass
    return _PidCheck()


_ALIVE = _alive_flag()


def _exit_if_forked():
    """Ends a process the model forked that returned (or raised) into the worker loop: only the worker answers."""
    if not _ALIVE[0]:
        _exit_forked()


def _exit_forked():
    """Called in a process that is not the worker: ends it, saying so on stderr."""
    try:
        sys.stderr.write(f"a process forked by the model (pid {os.getpid()}) returned into the worker; it exits\n")
        sys.stderr.flush()
    finally:
        os._exit(0)


def _exit_worker():
    """Ends the worker once the model's atexit hooks ran: the endpoint stops it, or recycles it, by closing its
    request pipe or with SIGTERM. Threads the model left running are not waited for (the endpoint ends the
    worker's process group anyway), and a process the model forked runs no hook of the worker's: it only exits."""
    try:
        if _ALIVE[0]:
            atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(0)


def _on_sigterm(signum, frame):
    _exit_worker()


def _protect_protocol(req_fd, resp_fd):
    """In every child the model forks, the protocol descriptors read end of file and discard writes, and SIGTERM
    does what it did before the worker installed its handler."""

    def in_child():
        null = os.open(os.devnull, os.O_RDWR)
        os.dup2(null, req_fd, inheritable=False)
        os.dup2(null, resp_fd, inheritable=False)
        os.close(null)
        if signal.getsignal(signal.SIGTERM) is _on_sigterm:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the worker's handler is not the child's

    os.register_at_fork(after_in_child=in_child)


def _parse_calls(buf, start, end, out):
    unpack = _CALL.unpack_from
    pos = start
    while pos < end:
        call_id, route, length = unpack(buf, pos)
        pos += 14
        out.append((call_id, route, buf[pos:pos + length]))
        pos += length


def _serve_inline(reader, worker, board):
    clock = time.perf_counter_ns
    execute = worker.execute
    mark = _SLOT.pack_into
    while True:
        frames = reader.frames()
        if frames is None:
            return
        calls = []
        for kind, start, end in frames:
            if kind == _CALLS:
                _parse_calls(reader.buf, start, end, calls)
        reader.consume()
        results = []
        # One clock reading per call: a call's time runs from the previous call's end (the little between them
        # is bookkeeping), or from the last flush of results.
        began = flushed = clock()
        for call_id, route, raw in calls:
            if board is not None:
                mark(board, 0, call_id)
            status, payload = execute(route, raw)
            now = clock()
            results.append((call_id, status, (now - began) // 1000, payload))
            began = now
            if now - flushed > _FLUSH_NS:
                worker.send_results(results)
                results = []
                began = flushed = clock()
        if results:
            worker.send_results(results)


def _serve_threads(reader, worker, threads, board):
    import queue

    calls = queue.SimpleQueue()
    lock = threading.Lock()
    pending = []
    writing = [False]
    clock = time.perf_counter_ns

    def finished(record):
        with lock:
            pending.append(record)
            if writing[0]:
                return
            writing[0] = True
        while True:
            with lock:
                batch = pending[:]
                pending.clear()
                if not batch:
                    writing[0] = False
                    return
            worker.send_results(batch)

    def run(slot):
        mark = _SLOT.pack_into
        while True:
            call_id, route, raw = calls.get()
            if board is not None:
                mark(board, slot, call_id)
            began = clock()
            status, payload = worker.execute(route, raw)
            finished((call_id, status, (clock() - began) // 1000, payload))

    for index in range(threads):
        threading.Thread(target=run, args=(index * 8,), name=f"call-{index}", daemon=True).start()
    while True:
        frames = reader.frames()
        if frames is None:
            return
        batch = []
        for kind, start, end in frames:
            if kind == _CALLS:
                _parse_calls(reader.buf, start, end, batch)
        reader.consume()
        for call in batch:
            calls.put(call)


def main():
    req_fd, resp_fd = int(sys.argv[1]), int(sys.argv[2])
    board_fd = int(sys.argv[3]) if len(sys.argv) > 3 else -1
    board = None
    if board_fd >= 0:
        try:
            board = mmap.mmap(board_fd, 0)
        except (OSError, ValueError):
            board = None
        os.close(board_fd)
    os.dup2(2, 1)
    # Programs the model starts (os.system, fork+exec) must not hold the protocol pipes open.
    os.set_inheritable(req_fd, False)
    os.set_inheritable(resp_fd, False)
    _protect_protocol(req_fd, resp_fd)
    # Before the model is imported, so that a model installing its own SIGTERM handler keeps it.
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        sys.stdout.reconfigure(line_buffering=True)
        sys.stderr.reconfigure(line_buffering=True)
    except Exception:
        pass
    reader = _Reader(req_fd)
    frames = reader.frames()
    if not frames or frames[0][0] != _CONFIG:
        os._exit(3)
    kind, start, end = frames[0]
    config = json.loads(bytes(reader.buf[start:end]))
    reader.consumed = end
    reader.consume()
    limit = config.get("memory_bytes")
    if limit:
        try:
            import resource
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ValueError, OSError) as exc:
            message = f"--worker-memory: cannot limit the address space to {limit} bytes: {exc}"
            _send(resp_fd, _FAILED, message.encode("utf-8", "backslashreplace"))
            os._exit(2)
    try:
        routes = _setup(config)
    except StartupError as exc:
        _send(resp_fd, _FAILED, str(exc).encode("utf-8", "backslashreplace"))
        sys.stderr.flush()
        os._exit(2)
    except BaseException as exc:
        sys.stderr.write(traceback.format_exc())
        _send(resp_fd, _FAILED, f"worker setup failed: {type(exc).__name__}: {exc}".encode("utf-8", "backslashreplace"))
        sys.stderr.flush()
        os._exit(2)
    threads = int(config.get("threads") or 1)
    worker = _Worker(routes, resp_fd, float(config.get("delay_ms") or 0) / 1000.0, threads)
    _send(resp_fd, _READY, f"Python {sys.version.split()[0]}".encode())
    if board is not None and len(board) < 8 * max(1, threads):
        board = None
    if threads <= 1:
        _serve_inline(reader, worker, board)
    else:
        _serve_threads(reader, worker, threads, board)
    _exit_worker()


main()
"""#
}
