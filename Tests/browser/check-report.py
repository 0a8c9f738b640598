#!/usr/bin/env python3
"""Real-browser check of `loadgen report`: headless Chromium opens the generated HTML with the network off and
this script checks that

  (a) the SVG charts are in the rendered DOM (--dump-dom),
  (b) the page logs nothing to the console: no uncaught error, no blocked resource (the page's
      Content-Security-Policy turns any attempt to load something into a console line), and
  (c) a screenshot is not blank (enough distinct colours and enough non-background pixels).

Before that it proves the checks can fail: a page with a deliberate `throw Error()` must fail (b), a blank page
must fail (c), and a page without charts must fail (a). Exits 0 when all pass, 1 otherwise; the last line is
'N passed, N failed'.

Usage: python3 Tests/browser/check-report.py [--loadgen PATH] [--chromium PATH] [--keep DIR]
Needs: chromium (Debian package `chromium`) and a built loadgen (default .build/debug/loadgen; built with
`swift build --product loadgen` when absent). Only the standard library is used.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FIXTURES = os.path.join(ROOT, "Tests", "fixtures", "report")
EXPECTED_CHARTS = ["chart-latency", "chart-percentiles", "chart-rates", "chart-attempts", "chart-capacity",
                   "chart-capacity-latency"]


def find_chromium(explicit):
    for candidate in [explicit, "chromium", "chromium-browser", "google-chrome"]:
        if candidate and shutil.which(candidate):
            return shutil.which(candidate)
    sys.exit("check-report: chromium not found (apt-get install -y chromium)")


def offline_prefix():
    """`unshare -n` runs the browser in a new network namespace with no interface up: no network at all.
    Where that is not allowed, the proxy and resolver flags below still keep it off the network."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]
    print("check-report: note: 'unshare -n' is not available; relying on the proxy/resolver flags only")
    return []


class Browser:
    def __init__(self, chromium, workdir):
        self.chromium = chromium
        self.workdir = workdir
        self.prefix = offline_prefix()
        self.profile = os.path.join(workdir, "profile")

    def run(self, url, *flags):
        command = self.prefix + [
            self.chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            "--user-data-dir=" + self.profile, "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr", "--v=0", *flags, url,
        ]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=self.workdir)
        return result

    def dom(self, path):
        result = self.run("file://" + path, "--dump-dom")
        return result.stdout, result.stderr

    def screenshot(self, path, png, size="1200,3600"):
        result = self.run("file://" + path, "--screenshot=" + png, "--window-size=" + size, "--hide-scrollbars")
        if not os.path.exists(png):
            raise RuntimeError("no screenshot written: " + result.stderr[-2000:])
        return result.stderr


def console_lines(stderr):
    """Chromium logs every console message (console.*, uncaught exceptions, CSP violations) as
    `[pid:tid:time:INFO:CONSOLE(line)] "message", source: URL (line)` (or `INFO:CONSOLE:line`). The report has
    no script, so any such line is a fault, except those of Chromium's own pages (`source: chrome://...`, e.g.
    its "Slow network is detected" note on a loaded machine, seen in CI), which are not the page's."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line and "source: chrome://" not in line]


def read_png(path):
    """Width, height and rows of RGB(A) tuples of an 8-bit PNG (colour type 2 or 6, no interlace)."""
    with open(path, "rb") as handle:
        data = handle.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    position, idat, header = 8, b"", None
    while position < len(data):
        length, kind = struct.unpack(">I4s", data[position:position + 8])
        chunk = data[position + 8:position + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        position += 12 + length
    width, height, depth, colour, _, _, interlace = header
    if depth != 8 or colour not in (2, 6) or interlace:
        raise ValueError(f"unsupported PNG layout depth={depth} colour={colour} interlace={interlace}")
    channels = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                estimate = left + up - corner
                pa, pb, pc = abs(estimate - left), abs(estimate - up), abs(estimate - corner)
                predictor = left if pa <= pb and pa <= pc else up if pb <= pc else corner
                line[i] = (line[i] + predictor) & 0xFF
        rows.append(bytes(line))
        previous = line
    return width, height, channels, rows


def image_stats(path):
    """(distinct colours, fraction of pixels differing from the most common colour), on every 2nd pixel."""
    width, height, channels, rows = read_png(path)
    counts = {}
    for row in rows[::2]:
        for x in range(0, width * channels, channels * 2):
            pixel = row[x:x + 3]
            counts[pixel] = counts.get(pixel, 0) + 1
    total = sum(counts.values())
    background = max(counts.values())
    return len(counts), (total - background) / total


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def expect(self, condition, name, detail=""):
        if condition:
            self.passed += 1
            print(f"PASS  {name}")
        else:
            self.failed += 1
            print(f"FAIL  {name}" + (f": {detail}" if detail else ""))


def not_blank(stats):
    colours, busy = stats
    return colours >= 32 and busy >= 0.02


def check_report(browser, checks, workdir, name, report, charts):
    """(a) the charts are in the rendered DOM, (b) the console stays silent, (c) the screenshot is not blank."""
    # (a) the charts are in the rendered DOM.
    dom, stderr = browser.dom(report)
    for chart in charts:
        start = dom.find(f'id="{chart}"')
        end = dom.find("</svg>", start)
        element = dom[start:end] if start >= 0 else ""
        checks.expect(start >= 0 and "<path" in element and 'class="legend"' in element and "<text" in element,
                      f"DOM has <svg id={chart}> with paths, axis text and a legend")
    checks.expect(dom.count("<svg") == len(charts), f"DOM has {len(charts)} <svg> elements",
                  f"found {dom.count('<svg')}")
    checks.expect("<script" not in dom, "DOM has no <script>")
    # (b) no console message at all (errors, CSP violations from blocked loads).
    lines = console_lines(stderr)
    checks.expect(not lines, "no console messages while loading the report", "\n".join(lines))
    # (c) the screenshot is not blank.
    png = os.path.join(workdir, name + ".png")
    stderr = browser.screenshot(report, png)
    stats = image_stats(png)
    checks.expect(not_blank(stats), "screenshot is not blank (>= 32 colours, >= 2% non-background)",
                  f"{stats[0]} colours, {stats[1]:.1%} non-background")
    print(f"      screenshot: {stats[0]} colours, {stats[1]:.1%} non-background pixels")
    lines = console_lines(stderr)
    checks.expect(not lines, "no console messages while taking the screenshot", "\n".join(lines))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--loadgen", default=os.path.join(ROOT, ".build", "debug", "loadgen"))
    parser.add_argument("--chromium")
    parser.add_argument("--keep", help="keep the generated files (report.html, report.png) in this folder")
    options = parser.parse_args()

    chromium = find_chromium(options.chromium)
    if not os.path.exists(options.loadgen):
        subprocess.run(["swift", "build", "--product", "loadgen"], cwd=ROOT, check=True)
    workdir = tempfile.mkdtemp(prefix="check-report-")
    browser = Browser(chromium, workdir)
    checks = Checks()
    try:
        # The checks must be able to fail: negative controls first.
        throwing = os.path.join(workdir, "throws.html")
        with open(throwing, "w") as handle:
            handle.write("<!DOCTYPE html><html><body><svg id=\"x\"></svg>"
                         "<script>throw Error('deliberate')</script></body></html>")
        blank = os.path.join(workdir, "blank.html")
        with open(blank, "w") as handle:
            handle.write("<!DOCTYPE html><html><body></body></html>")
        dom, stderr = browser.dom(throwing)
        checks.expect(any("deliberate" in line for line in console_lines(stderr)),
                      "control: a page that throws is caught by the console check", stderr[-1500:])
        dom, stderr = browser.dom(blank)
        checks.expect(not all(f'id="{chart}"' in dom for chart in EXPECTED_CHARTS),
                      "control: a page without charts fails the DOM check")
        checks.expect(not console_lines(stderr), "control: a blank page logs nothing", "\n".join(console_lines(stderr)))
        blank_png = os.path.join(workdir, "blank.png")
        browser.screenshot(blank, blank_png, "800,600")
        stats = image_stats(blank_png)
        checks.expect(not not_blank(stats), "control: a blank page fails the not-blank check", f"stats {stats}")

        # Each report: the hand-made fixtures (every chart, several files, a capacity curve with many steps),
        # and the output of real runs (`run-real.json`: a 3 s quickstart; `capacity-real.json`: a capacity
        # search against a 20 ms worker), so that the format loadgen writes today is what the browser sees.
        sets = [("report", ["run-a.json", "run-b.json", "capacity.json"], EXPECTED_CHARTS),
                ("real", ["run-real.json", "capacity-real.json"], EXPECTED_CHARTS)]
        for name, files, charts in sets:
            report = os.path.join(workdir, name + ".html")
            inputs = [os.path.join(FIXTURES, file) for file in files]
            generated = subprocess.run([options.loadgen, "report", *inputs, "-o", report], capture_output=True, text=True)
            checks.expect(generated.returncode == 0, f"loadgen report {' '.join(files)} exits 0", generated.stderr)
            if generated.returncode == 0:
                check_report(browser, checks, workdir, name, report, charts)
        if options.keep:
            os.makedirs(options.keep, exist_ok=True)
            for name in os.listdir(workdir):
                if name.endswith((".html", ".png")):
                    shutil.copy(os.path.join(workdir, name), options.keep)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return finish(checks)


def finish(checks):
    print(f"{checks.passed} passed, {checks.failed} failed")
    return 0 if checks.failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
