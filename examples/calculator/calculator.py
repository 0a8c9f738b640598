"""A model exercising every feature of the endpoint: positional and keyword routes, every body type,
defaults, and every way a call can go wrong (exception, unserializable result, print, hang, crash).

Suggested routes (see examples/calculator/routes.json):
  POST /add       add(a, b)                   positional, a: int, b: float optional (default 1.5)
  POST /describe  describe(text, count, ...)  keyword, every type, every parameter but text optional
  POST /append    append_item(items, item)    keyword; `items` defaults to a mutable list
  POST /fail      fail(message)               raises ValueError(message)
  POST /opaque    opaque()                    returns an object json cannot encode
  POST /matrix    matrix(n)                   returns a numpy-like object with .tolist()
  POST /shout     shout(text)                 prints to stdout (print and a C-level write) and stderr
  POST /sleep     sleep(seconds)              sleeps; reports when it started and ended (time.time())
  POST /crash     crash(code)                 os._exit(code): the worker process dies mid-call
"""
import os
import sys
import time


def add(a, b):
    return {"sum": a + b}


def describe(text, count=1, ratio=0.5, flag=False, meta=None, items=None):
    return {
        "text": text,
        "count": count,
        "ratio": ratio,
        "flag": flag,
        "meta": meta,
        "items": items,
        "types": [type(v).__name__ for v in (text, count, ratio, flag, meta, items)],
    }


def append_item(items, item="x"):
    items.append(item)
    return items


def fail(message):
    raise ValueError(message)


class Opaque:
    pass


def opaque():
    return {"value": Opaque()}


def not_a_number():
    return float("nan")


class Matrix:
    """Quacks like a numpy array for JSON encoding: the worker converts anything with .tolist()."""

    def __init__(self, rows):
        self.rows = rows

    def tolist(self):
        return [list(row) for row in self.rows]


class Scalar:
    """Quacks like a numpy scalar (has .item())."""

    def __init__(self, value):
        self.value = value

    def item(self):
        return self.value


def matrix(n):
    return {"matrix": Matrix([[i * n + j for j in range(n)] for i in range(n)]), "trace": Scalar(n * (n - 1) * (n + 1) // 2)}


def shout(text):
    print(f"shout: {text}")
    os.write(1, f"raw stdout: {text}\n".encode())
    print(f"stderr: {text}", file=sys.stderr)
    return {"shouted": text.upper()}


def sleep(seconds):
    started = time.time()
    time.sleep(seconds)
    return {"started": started, "ended": time.time()}


def crash(code=3):
    os._exit(code)
