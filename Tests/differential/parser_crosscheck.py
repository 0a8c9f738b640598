#!/usr/bin/env python3
"""Cross-check our request decoder's verdicts against reference parsers (h11, and llhttp via httptools).

The corpus is Tests/fixtures/http-corpus/requests.json: each case has the request bytes (hex) and the status our
decoder answers (0 = accepted). The Swift test StrictParsingTests.corpusVerdicts asserts that our decoder gives
exactly those verdicts, so this script compares the fixture with each reference and lists every case where one
side accepts and the other refuses. Known differences are justified in docs/http-parser.md; with --strict the
script exits 1 when a difference appears that is not listed there (KNOWN below).

Usage: python3 Tests/differential/parser_crosscheck.py [--strict]
"""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, "..", "fixtures", "http-corpus", "requests.json")

# (reference, case name) pairs whose difference is documented and justified in docs/http-parser.md.
KNOWN = {
    ('h11', 'CL and TE'),
    ('h11', 'CL list'),
    ('h11', 'CR-only line endings'),
    ('h11', 'HTTP/0.9'),
    ('h11', 'HTTP/1.2'),
    ('h11', 'HTTP/2.0'),
    ('h11', 'TE and CL'),
    ('h11', 'TE in HTTP/1.0'),
    ('h11', 'all bare LF'),
    ('h11', 'bare LF empty line'),
    ('h11', 'bare LF ending trailers'),
    ('h11', 'bare LF header line'),
    ('h11', 'bare LF in trailer'),
    ('h11', 'bare LF request line'),
    ('h11', 'chunk ext nothing after semicolon'),
    ('h11', 'chunk ext trailing space'),
    ('h11', 'chunk ext unbalanced quote'),
    ('h11', 'chunk size trailing space'),
    ('h11', 'chunked BWS before semicolon'),
    ('h11', 'duplicate CL same'),
    ('h11', 'expect list'),
    ('h11', 'expect other'),
    ('h11', 'leading CRLF'),
    ('h11', 'obs-fold'),
    ('h11', 'obs-fold tab'),
    ('h11', 'pipelined smuggle CL.TE'),
    ('h11', 'trailer obs-fold'),
    ('httptools', 'HTTP/0.9'),
    ('httptools', 'HTTP/2.0'),
    ('httptools', 'ICE/1.0'),
    ('httptools', 'RTSP/1.0'),
    ('httptools', 'TE in HTTP/1.0'),
    ('httptools', 'chunk ext bws around equals'),
    ('httptools', 'chunked BWS before semicolon'),
    ('httptools', 'double space'),
    ('httptools', 'expect list'),
    ('httptools', 'expect other'),
    ('httptools', 'missing host 1.1'),
    ('httptools', 'te gzip,chunked'),
    ('httptools', 'two hosts'),
}


def h11_verdict(data):
    """True = accepted (at least one complete request, no error), False = refused, None = needs more bytes."""
    import h11
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(data)
    got = False
    try:
        while True:
            ev = conn.next_event()
            if ev is h11.NEED_DATA:
                return True if got else None
            if isinstance(ev, h11.EndOfMessage):
                got = True
                if conn.our_state is h11.SEND_RESPONSE or True:
                    return True
            if ev is h11.PAUSED:
                return got
    except h11.RemoteProtocolError:
        return False


def httptools_verdict(data):
    import httptools

    class P:
        done = 0

        def on_message_complete(self):
            self.done += 1

    p = P()
    parser = httptools.HttpRequestParser(p)
    try:
        parser.feed_data(data)
    except httptools.HttpParserUpgrade:
        return True
    except httptools.HttpParserError:
        return False
    return True if p.done else None


def main():
    strict = "--strict" in sys.argv
    corpus = json.load(open(CORPUS))
    refs = []
    for name, fn in (("h11", h11_verdict), ("httptools", httptools_verdict)):
        try:
            fn(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n")
            refs.append((name, fn))
        except ImportError:
            print(f"{name} not installed; skipped", file=sys.stderr)
    diffs, unknown = 0, 0
    for case in corpus:
        data = bytes.fromhex(case["request"])
        ours = case["expect"] == 0
        for name, fn in refs:
            theirs = fn(data)
            if theirs is None:
                theirs_s = "needs more"
            else:
                theirs_s = "accepts" if theirs else "refuses"
            if theirs is not None and theirs == ours:
                continue
            diffs += 1
            known = (name, case["name"]) in KNOWN
            unknown += 0 if known else 1
            print(f"{'known' if known else 'NEW  '} {name:9} {case['name']!r}: we "
                  f"{'accept' if ours else 'refuse (%d)' % case['expect']}, {name} {theirs_s}")
    print(f"{len(corpus)} cases x {len(refs)} references: {diffs} differences, {unknown} not documented")
    return 1 if strict and unknown else 0


if __name__ == "__main__":
    sys.exit(main())
