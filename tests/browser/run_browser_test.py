#!/usr/bin/env python3
"""Headless-Chromium WebTransport test against wt-server (stdlib only).

  run_browser_test.py [options] PATH/TO/wt-server

1. Starts `wt-server --port 0` (it generates a fresh 13-day P-256 certificate)
   and reads the port and the certificate's SHA-256 from its stdout.
2. Serves echo.html/echo.js (next to this script) over plain HTTP on
   127.0.0.1 (ephemeral port); the page is loaded as http://localhost:PORT/,
   which is a secure context, so WebTransport and serverCertificateHashes work.
3. Runs Chromium headless (fresh profile in a temporary directory, never
   --disable-quic) on that page. The page opens
   https://localhost:WTPORT/echo with serverCertificateHashes, echoes a bidi
   stream, datagrams and a uni stream, then closes with code 7 reason "bye".
   It reports each step as a "WTTEST ..." line through console.log (read from
   Chromium's stderr) and through POST /wtlog to our HTTP server.
4. Passes only if every step reported ok, the page reported PASS, wt-server
   logged the session opening on /echo and `closed by client: code 7 reason
   "bye"`, and wt-server exited cleanly on SIGTERM.

Exit status: 0 pass, 1 fail, 77 skip (only when no Chromium binary exists;
set WT_BROWSER_REQUIRED=1 to make that a failure too). The Chromium binary is
--chromium, else $CHROMIUM, else `chromium` on PATH.

Debugging: --server-arg=-v passes -v to wt-server; --netlog FILE writes a
Chromium net-log (QUIC_SESSION_WEBTRANSPORT_* events); --log-dir DIR keeps
the Chromium, server and page logs.
Self-check of the test: --corrupt-hash (wrong certificate hash) or --path
/nope must fail; with --expect-fail STEP the run passes only if the page
fails at STEP.
"""
import argparse
import base64
import ctypes
import http.server
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = ["ready", "bidi", "datagram", "uni", "close"]
SKIP = 77
PAGE_FILES = {"/echo.html": "text/html; charset=utf-8", "/echo.js": "text/javascript; charset=utf-8"}

# Chromium: [pid:tid:MMDD/HHMMSS.ffffff:INFO:CONSOLE(123)] "WTTEST ...", source: http://... (123)
# (newer builds write CONSOLE:123 instead of CONSOLE(123); only the quoted text matters).
CONSOLE_RE = re.compile(r'CONSOLE[^\]]*\] "(WTTEST .*)", source: ')
SRV_LISTEN_RE = re.compile(r"^wt-server listening on (.+) port (\d+)$")
SRV_HASH_RE = re.compile(r"^certificate sha256 base64: ([A-Za-z0-9+/=]+)$")
SRV_OPEN_RE = re.compile(r"^session (\d+) open: path (\S+) draft (-?\d+) protocol (.*)$")
SRV_CLOSED_RE = re.compile(r"^session (\d+) closed by (\w+): code (\d+) reason \"(.*?)\"(?: - (.*))?$")


class SetupError(Exception):
    pass


class Log:
    """Every line from every source, timestamped, plus a queue of events for the main loop."""

    def __init__(self):
        self.t0 = time.monotonic()
        self.lines = []  # (t, source, text)
        self.lock = threading.Lock()
        self.events = queue.Queue()

    def now(self):
        return time.monotonic() - self.t0

    def add(self, source, text):
        with self.lock:
            self.lines.append((self.now(), source, text))
        self.events.put((source, text))

    def dump(self, sources, out=sys.stdout, limit=None):
        with self.lock:
            sel = [l for l in self.lines if l[1] in sources]
        if limit and len(sel) > limit:
            print(f"    ... {len(sel) - limit} earlier lines omitted", file=out)
            sel = sel[-limit:]
        for t, src, text in sel:
            print(f"    [{t:7.3f}s {src}] {text}", file=out)

    def write(self, path, sources):
        with self.lock, open(path, "w", encoding="utf-8") as f:
            for t, src, text in self.lines:
                if src in sources:
                    f.write(f"[{t:7.3f}s {src}] {text}\n")


def pump(stream, source, log):
    """Blocking line reader (one thread per pipe): select() plus buffered reads can lose lines."""
    try:
        for raw in iter(stream.readline, b""):
            log.add(source, raw.decode("utf-8", "replace").rstrip("\r\n"))
    except (OSError, ValueError):
        pass
    log.events.put((source, None))  # EOF


def make_http_handler(log):
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def log_message(self, fmt, *args):
            log.add("http", fmt % args)

        def _send(self, code, body, ctype):
            self.send_response(code)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            path = urllib.parse.urlsplit(self.path).path
            if path in PAGE_FILES:
                with open(os.path.join(HERE, path[1:]), "rb") as f:
                    self._send(200, f.read(), PAGE_FILES[path])
            else:
                self._send(404, b"not found\n", "text/plain")

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(n).decode("utf-8", "replace") if n > 0 else ""
            if urllib.parse.urlsplit(self.path).path == "/wtlog" and body.startswith("WTTEST "):
                log.add("page-http", body)
                self._send(204, b"", "text/plain")
            else:
                self._send(404, b"not found\n", "text/plain")

    return Handler


class QuietHTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # Chromium may drop connections on shutdown


def become_subreaper():
    """Orphaned Chromium helpers are re-parented to us, so we can reap them (no zombies)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(36, 1, 0, 0, 0) == 0  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        return False


def our_children():
    me = os.getpid()
    kids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                stat = f.read()
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == me:
            kids.append(int(d))
    return kids


def stop_group(proc, grace):
    """SIGTERM the process group, SIGKILL what is left after `grace` seconds. Returns how the leader ended."""
    if proc is None:
        return None
    how = "exited by itself"
    if proc.poll() is None:
        how = "stopped by SIGTERM"
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            how = f"did not exit within {grace:.0f} s of SIGTERM, killed"
    try:  # helpers of the group still alive?
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    return how


def reap_orphans(timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid:
            continue
        kids = our_children()
        if not kids:
            return
        if time.monotonic() > deadline:
            for k in kids:  # adopted descendants of the processes we started
                try:
                    os.kill(k, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + timeout
        time.sleep(0.05)


def find_chromium(opt):
    cand = opt or os.environ.get("CHROMIUM")
    if cand:
        path = shutil.which(cand)
        if not path:
            return None, f"the Chromium binary given ({cand!r}) does not exist or is not executable", True
        return path, None, False
    path = shutil.which("chromium")
    if not path:
        return None, "no `chromium` on PATH and $CHROMIUM is not set", False
    return path, None, False


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", help="path to the wt-server binary")
    ap.add_argument("--chromium", help="Chromium binary (default: $CHROMIUM, else chromium on PATH)")
    ap.add_argument("--timeout", type=float, default=60.0, help="overall seconds to wait for the page's result")
    ap.add_argument("--server-arg", action="append", default=[], help="extra wt-server argument (repeatable), e.g. -v")
    ap.add_argument("--chromium-arg", action="append", default=[], help="extra Chromium argument (repeatable)")
    ap.add_argument("--netlog", help="write a Chromium net-log to this file")
    ap.add_argument("--log-dir", help="keep chromium.log, server.log and page.log in this directory")
    ap.add_argument("--map-localhost", default="", metavar="ADDR",
                    help="make Chromium resolve localhost to ADDR; by default Chromium resolves it itself "
                         "(::1 first), which wt-server's default listening on 127.0.0.1 and ::1 serves")
    ap.add_argument("--path", default="/echo", help="WebTransport path the page opens (default /echo)")
    ap.add_argument("--corrupt-hash", action="store_true", help="give the page a wrong certificate hash")
    ap.add_argument("--expect-fail", metavar="STEP", choices=STEPS,
                    help="negative test: pass only if the page fails at STEP")
    args = ap.parse_args()

    required = os.environ.get("WT_BROWSER_REQUIRED", "") not in ("", "0")
    chromium, why, explicit = find_chromium(args.chromium)
    if not chromium:
        if explicit or required:
            print(f"FAIL: {why}" + (" (WT_BROWSER_REQUIRED is set)" if required and not explicit else ""))
            return 1
        print(f"SKIP: {why}; install it (Debian: apt-get install chromium) to run this test")
        return SKIP
    if not os.access(args.server, os.X_OK):
        print(f"FAIL: wt-server binary {args.server!r} is not executable")
        return 1

    become_subreaper()
    log = Log()
    tmp = tempfile.mkdtemp(prefix="wt-browser-")
    server = chromium_proc = httpd = None
    failures = []   # reasons the run fails
    warnings = []
    page_steps = {}  # step -> (ok, detail)
    page = {"start": None, "result": None}
    srv = {"port": None, "hash": None, "open": None, "closed": None, "exit": None, "alive": True}
    try:
        # --- wt-server -----------------------------------------------------
        cmd = [args.server, "--port", "0"] + args.server_arg
        server = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  start_new_session=True)
        threading.Thread(target=pump, args=(server.stdout, "server", log), daemon=True).start()
        threading.Thread(target=pump, args=(server.stderr, "server-err", log), daemon=True).start()

        deadline = time.monotonic() + 10
        while srv["port"] is None or srv["hash"] is None:
            try:
                src, line = log.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise SetupError("wt-server did not print its port and certificate hash within 10 s")
            if src == "server" and line is None:
                raise SetupError(f"wt-server exited before it was ready (status {server.wait()})")
            if src != "server":
                continue
            m = SRV_LISTEN_RE.match(line)
            if m:
                srv["port"] = int(m.group(2))
            m = SRV_HASH_RE.match(line)
            if m:
                srv["hash"] = m.group(1)
        wt_hash = srv["hash"]
        if args.corrupt_hash:
            raw = bytearray(base64.b64decode(wt_hash))
            raw[0] ^= 0xFF
            wt_hash = base64.b64encode(bytes(raw)).decode()

        # --- page server ---------------------------------------------------
        httpd = QuietHTTPServer(("127.0.0.1", 0), make_http_handler(log))
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        query = urllib.parse.urlencode({"port": srv["port"], "hash": wt_hash, "path": args.path})
        url = f"http://localhost:{httpd.server_address[1]}/echo.html?{query}"

        # --- Chromium --------------------------------------------------------
        ccmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-default-browser-check", f"--user-data-dir={os.path.join(tmp, 'profile')}",
                "--enable-logging=stderr", "--v=0"]
        if args.map_localhost:
            # Chromium resolves "localhost" itself to [::1] and 127.0.0.1, tries
            # ::1 first when the host has IPv6, and a WebTransport (QUIC)
            # connection does not fall back to the next address: against a
            # server bound to 127.0.0.1 it fails with ERR_CONNECTION_REFUSED
            # ("Opening handshake failed"). Pin localhost to the address
            # wt-server listens on; the URLs still say localhost.
            ccmd.append(f"--host-resolver-rules=MAP localhost {args.map_localhost}")
        if args.netlog:
            ccmd += [f"--log-net-log={os.path.abspath(args.netlog)}", "--net-log-capture-mode=IncludeSensitive"]
        ccmd += args.chromium_arg + [url]
        assert "--disable-quic" not in ccmd, "never run this test with --disable-quic"
        print(f"wt-server: port {srv['port']}, certificate sha256 (base64) {srv['hash']}")
        print(f"chromium:  {' '.join(ccmd)}", flush=True)
        env = dict(os.environ, HOME=tmp)  # keep ~/.config, ~/.pki and crash reports out of the real home
        for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env.pop(k, None)  # WebTransport does not work through a proxy
        chromium_proc = subprocess.Popen(ccmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                         stderr=subprocess.STDOUT, start_new_session=True, env=env)
        threading.Thread(target=pump, args=(chromium_proc.stdout, "chromium", log), daemon=True).start()

        # --- wait for the result -------------------------------------------
        def page_line(text, src):
            words = text.split(" ", 3)
            kind = words[1] if len(words) > 1 else ""
            if kind == "start" and page["start"] is None:
                page["start"] = text[len("WTTEST start "):]
            elif kind == "step" and len(words) >= 4:
                name, rest = words[2], words[3]
                if name in page_steps:
                    return
                ok = rest.startswith("ok")
                page_steps[name] = (ok, rest.split(" ", 1)[1] if " " in rest else "")
            elif kind == "result" and page["result"] is None:
                page["result"] = text[len("WTTEST result "):]
            else:
                return
            print(f"[{log.now():6.2f}s] page ({src}): {text[len('WTTEST '):]}", flush=True)

        def server_line(text):
            m = SRV_OPEN_RE.match(text)
            if m and srv["open"] is None:
                srv["open"] = m
                print(f"[{log.now():6.2f}s] server: {text}", flush=True)
            m = SRV_CLOSED_RE.match(text)
            if m and srv["closed"] is None:
                srv["closed"] = m
                print(f"[{log.now():6.2f}s] server: {text}", flush=True)

        def handle(src, text):
            if text is None:
                if src == "chromium":
                    if page["result"] is None:
                        failures.append(f"Chromium exited (status {chromium_proc.wait()}) before the page reported a result")
                elif src == "server" and srv["alive"]:
                    srv["alive"] = False
                    st = server.wait()
                    why = ""
                    if st == 0:
                        why = " - it exits 0 only after SIGINT/SIGTERM, so something else signalled it"
                    elif st < 0:
                        why = f" - killed by signal {signal.Signals(-st).name}"
                    failures.append(f"wt-server exited during the test at {log.now():.2f} s (status {st}{why})")
                return False
            if src == "chromium":
                m = CONSOLE_RE.search(text)
                if m:
                    page_line(m.group(1), "console")
            elif src == "page-http":
                page_line(text, "http")
            elif src == "server":
                server_line(text)
            return True

        deadline = log.t0 + args.timeout
        chromium_alive = True
        while page["result"] is None and chromium_alive and time.monotonic() < deadline:
            try:
                src, text = log.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if not handle(src, text) and src == "chromium":
                chromium_alive = False
        if page["result"] is None and chromium_alive:
            last = next((s for s in STEPS if s not in page_steps), "close")
            if page["start"] is None:
                failures.append(f"no result within {args.timeout:.0f} s: the page never reported (did it load?)")
            else:
                failures.append(f"no result within {args.timeout:.0f} s (page was at step {last})")

        # The server logs the close once Chromium's WT_CLOSE_SESSION arrives;
        # give it a moment after the page saw `closed` resolve.
        if page_steps.get("close", (False,))[0]:
            grace = 5.0
        elif srv["open"] is not None:
            grace = 0.5  # a failed run: collect a late close line for the report, briefly
        else:
            grace = 0.0
        wait_until = time.monotonic() + grace
        while srv["closed"] is None and time.monotonic() < wait_until:
            try:
                src, text = log.events.get(timeout=max(0.01, wait_until - time.monotonic()))
            except queue.Empty:
                break
            handle(src, text)
        # drain whatever else is queued
        while True:
            try:
                handle(*log.events.get_nowait())
            except queue.Empty:
                break
    except SetupError as e:
        failures.append(str(e))
    finally:
        if chromium_proc is not None:
            stop_group(chromium_proc, 5.0)
        if server is not None:
            srv["exit_how"] = stop_group(server, 5.0)
            srv["exit"] = server.returncode
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        reap_orphans()
        # late lines (the pump threads end at EOF, now that the processes are gone)
        time.sleep(0.1)
        shutil.rmtree(tmp, ignore_errors=True)
        if args.log_dir:
            os.makedirs(args.log_dir, exist_ok=True)
            log.write(os.path.join(args.log_dir, "chromium.log"), {"chromium"})
            log.write(os.path.join(args.log_dir, "server.log"), {"server", "server-err"})
            log.write(os.path.join(args.log_dir, "page.log"), {"page-http", "http"})

    # --- verdict -----------------------------------------------------------
    result = page["result"] or ""
    page_failed_at = None
    if result.startswith("FAIL"):
        page_failed_at = result[5:].split(":", 1)[0]

    rows = []
    def row(name, ok, detail=""):
        rows.append((name, ok, detail))

    row("page loaded", page["start"] is not None, page["start"] or "no WTTEST line from the page")
    for s in STEPS:
        if s in page_steps:
            row(f"step {s}", page_steps[s][0], page_steps[s][1])
        else:
            row(f"step {s}", False, "not reached" if page_failed_at != s else "hung")
    row("page result", result == "PASS", result or "none")
    m = srv["open"]
    row("server: session opened", bool(m) and m.group(2).split("?")[0] == args.path,
        f"path {m.group(2)} draft {m.group(3)} protocol {m.group(4)}" if m else "no `session N open` line")
    m = srv["closed"]
    closed_ok = bool(m) and m.group(2) == "client" and m.group(3) == "7" and m.group(4) == "bye"
    row("server: closed by client 7 \"bye\"", closed_ok,
        m.group(0) if m else "no `session N closed` line")
    if m and m.group(5):
        warnings.append(f"server close line carries a detail: {m.group(5)!r}")
    exit_ok = srv["exit"] == 0 and srv.get("exit_how") == "stopped by SIGTERM"
    row("server: clean exit on SIGTERM", exit_ok,
        f"{srv.get('exit_how')}, status {srv['exit']}")
    err_lines = [t for _, s, t in log.lines if s == "server-err" and (": error:" in t or ": warn:" in t)]
    for t in err_lines[:10]:
        warnings.append(f"server stderr: {t}")

    if args.expect_fail:
        passed = page_failed_at == args.expect_fail and not failures
        verdict_detail = (f"expected the page to fail at step {args.expect_fail}; "
                          f"it {'failed at ' + page_failed_at if page_failed_at else 'reported ' + (result or 'nothing')}")
        if not exit_ok:
            passed = False
    else:
        passed = not failures and all(ok for _, ok, _ in rows)
        verdict_detail = ""

    elapsed = log.now()
    print("\nbrowser test summary" + (f" (negative test: expect failure at {args.expect_fail})" if args.expect_fail else ""))
    for name, ok, detail in rows:
        print(f"  {'ok  ' if ok else 'FAIL'}  {name:34s} {detail}")
    for f in failures:
        print(f"  FAIL  {f}")
    for w in warnings:
        print(f"  warn  {w}")
    if verdict_detail:
        print(f"  {verdict_detail}")
    if not passed or os.environ.get("WT_BROWSER_VERBOSE"):
        print("\n  wt-server output:")
        log.dump({"server", "server-err"}, limit=200)
        print("\n  Chromium output (last 60 lines):")
        log.dump({"chromium"}, limit=60)
    print(f"\nRESULT: {'PASS' if passed else 'FAIL'} ({elapsed:.1f} s)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
