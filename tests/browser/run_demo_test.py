#!/usr/bin/env python3
"""Loads wt-server's demo page in headless Chromium and checks that it works.

  run_demo_test.py [--screenshot FILE] PATH/TO/wt-server

Starts `wt-server --port 0 --demo-port 0`, opens http://localhost:PORT/?autotest=1
(the page then sends a message and checks its echo, pings with 10 datagrams
and runs a 10 MiB throughput test, reporting "DEMO ..." lines on the console)
and passes if the page loaded, the echo came back intact and wt-server saw the
session. With --screenshot, the finished page is captured through the DevTools
protocol (--remote-debugging-pipe) into FILE (PNG): that is docs/demo.png.

Exit status: 0 pass, 1 fail, 77 skip (no Chromium; WT_BROWSER_REQUIRED=1 makes
that a failure).
"""
import argparse
import base64
import fcntl
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
import time
import shutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run_browser_test import (Log, SKIP, become_subreaper, browser_command, find_browser, pump,  # noqa: E402
                              reap_orphans, stop_group, CHROMIUM_CONSOLE_RE, SRV_OPEN_RE)

DEMO_RE = re.compile(r'CONSOLE[^\]]*\] "(DEMO .*)", source: ')
DEMO_URL_RE = re.compile(r"^demo page: (http://localhost:\d+/)$")


class Cdp:
    """The DevTools protocol over --remote-debugging-pipe: NUL-separated JSON on fds 3 (to) and 4 (from)."""

    def __init__(self, to_browser, from_browser):
        self.w = os.fdopen(to_browser, "wb", buffering=0)
        self.r = os.fdopen(from_browser, "rb", buffering=0)
        self.buf = b""
        self.next_id = 1

    def call(self, method, params=None, session=None, timeout=20.0):
        msg = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        self.next_id += 1
        self.w.write(json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            while b"\0" not in self.buf:
                chunk = self.r.read(65536)
                if not chunk:
                    raise RuntimeError("DevTools pipe closed")
                self.buf += chunk
            raw, self.buf = self.buf.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == msg["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
        raise RuntimeError(f"{method}: no reply within {timeout} s")


def screenshot(cdp, path):
    targets = cdp.call("Target.getTargets")["targetInfos"]
    page = next(t for t in targets if t["type"] == "page")
    session = cdp.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})["sessionId"]
    png = cdp.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True}, session)["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(png))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", help="path to the wt-server binary")
    ap.add_argument("--browser-bin", help="Chromium binary")
    ap.add_argument("--screenshot", help="write a PNG of the finished page here")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()

    required = os.environ.get("WT_BROWSER_REQUIRED", "") not in ("", "0")
    binary, why, explicit = find_browser("chromium", args.browser_bin)
    if not binary:
        print(("FAIL: " if explicit or required else "SKIP: ") + why)
        return 1 if explicit or required else SKIP

    become_subreaper()
    log = Log()
    tmp = tempfile.mkdtemp(prefix="wt-demo-")
    server = browser = None
    demo = {}
    failures = []
    srv = {"url": None, "open": None}
    try:
        server = subprocess.Popen([args.server, "--port", "0", "--demo-port", "0"], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=pump, args=(server.stdout, "server", log), daemon=True).start()
        deadline = time.monotonic() + 10
        while srv["url"] is None and time.monotonic() < deadline:
            try:
                src, line = log.events.get(timeout=0.2)
            except queue.Empty:
                continue
            m = DEMO_URL_RE.match(line or "")
            if m:
                srv["url"] = m.group(1)
        if not srv["url"]:
            raise RuntimeError("wt-server did not print `demo page: http://localhost:N/` within 10 s")

        url = srv["url"] + "?autotest=1"
        extra = ["--remote-debugging-pipe", "--window-size=900,680", "--hide-scrollbars"]
        cmd = browser_command("chromium", binary, tmp, url, extra, None)
        print("browser:", " ".join(cmd), flush=True)
        # The DevTools pipe goes on fds 3 and 4 of the browser: our ends are
        # moved above them first so the dup2 calls cannot clobber each other.
        pipes = [os.pipe(), os.pipe()]
        to_r, to_w, from_r, from_w = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for p in pipes for fd in p]
        for p in pipes:
            for fd in p:
                os.close(fd)

        def fds():
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)
        env = dict(os.environ, HOME=tmp)
        browser = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env, preexec_fn=fds, pass_fds=(3, 4))
        os.close(to_r)
        os.close(from_w)
        cdp = Cdp(to_w, from_r)
        threading.Thread(target=pump, args=(browser.stdout, "browser", log), daemon=True).start()

        deadline = time.monotonic() + args.timeout
        while "done" not in demo and "FAIL" not in demo and time.monotonic() < deadline:
            try:
                src, line = log.events.get(timeout=0.2)
            except queue.Empty:
                continue
            if line is None:
                if src == "browser":
                    raise RuntimeError("Chromium exited before the page finished")
                continue
            if src == "server":
                m = SRV_OPEN_RE.match(line)
                if m:
                    srv["open"] = line
            m = DEMO_RE.search(line) if src == "browser" else None
            if m:
                text = m.group(1)[5:]
                print(f"[{log.now():6.2f}s] page: {text}", flush=True)
                demo[text.split(" ", 1)[0]] = text
        if "done" not in demo and "FAIL" not in demo:
            failures.append(f"the page did not finish within {args.timeout:.0f} s (saw {sorted(demo)})")
        if args.screenshot and "done" in demo:
            time.sleep(0.3)  # let the last paint land
            screenshot(cdp, args.screenshot)
            print(f"screenshot: {args.screenshot}")
    except (RuntimeError, OSError, StopIteration, ValueError) as e:
        failures.append(str(e))
    finally:
        if browser is not None:
            stop_group(browser, 5.0)
        if server is not None:
            stop_group(server, 5.0)
        reap_orphans()
        shutil.rmtree(tmp, ignore_errors=True)

    rows = [
        ("wt-server served the demo page", srv["url"] is not None, srv["url"] or ""),
        ("session opened on /echo", bool(srv["open"]) and " path /echo " in srv["open"], srv["open"] or "no line"),
        ("echo of the typed message", demo.get("echo", "").startswith("echo ok hello from the demo test"),
         demo.get("echo", demo.get("FAIL", "no `DEMO echo` line"))),
        # Datagrams may be lost (not on an idle loopback, but CI machines are busy).
        ("datagram round trips", int((re.match(r"ping (\d+)/10", demo.get("ping", "")) or [0, 0])[1]) >= 5,
         demo.get("ping", "none")),
        ("10 MiB throughput test", demo.get("throughput", "").startswith("throughput 10485760 bytes"),
         demo.get("throughput", "none")),
    ]
    passed = not failures and all(ok for _, ok, _ in rows)
    print("\ndemo page test summary")
    for name, ok, detail in rows:
        print(f"  {'ok  ' if ok else 'FAIL'}  {name:32s} {detail}")
    for f in failures:
        print(f"  FAIL  {f}")
    if not passed:
        log.dump({"server", "browser"}, limit=80)
    print(f"\nRESULT: {'PASS' if passed else 'FAIL'} ({log.now():.1f} s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
