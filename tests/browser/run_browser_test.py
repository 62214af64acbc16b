#!/usr/bin/env python3
"""Headless-browser WebTransport test case against wt-server (stdlib only).

  run_browser_test.py [options] --browser CONFIG --case CASE PATH/TO/wt-server
  run_browser_test.py --list            (CONFIG CASE pairs, for CMake)
  run_browser_test.py --table           (the docs/browsers.md table)

One run = one case in one browser, so every case is its own CTest result:
1. Starts `wt-server --port 0` (it generates a fresh 13-day P-256 certificate)
   and reads the port and the certificate's SHA-256 from its stdout.
2. Serves echo.html/echo.js (next to this script) over plain HTTP on
   127.0.0.1 (ephemeral port); the page is loaded as http://localhost:PORT/,
   which is a secure context, so WebTransport and serverCertificateHashes work.
3. Runs the browser headless with a fresh profile (never --disable-quic) on
   echo.html?case=CASE. The page runs the case (see echo.js) and reports
   "WTTEST ..." lines by POST /wtlog (and console.log).
4. Passes only if the page reported PASS, every fact the page reported is
   what this browser is expected to do (CASES below: where a browser differs,
   the expectation says why, so a change in the browser is noticed), wt-server
   logged what the case requires (session opened with the expected draft, or
   refused with the expected status; close code and reason; stream reset /
   STOP_SENDING codes), and wt-server exited cleanly on SIGTERM.

Browser configurations (--browser): chromium, chromium_draft07 (Chromium with
--enable-features=EnableWebTransportDraft07), firefox (Firefox ESR). The
binary is --browser-bin, else $CHROMIUM / $FIREFOX, else `chromium` /
`firefox-esr` on PATH.

Exit status: 0 pass, 1 fail, 77 skip (only when the browser binary does not
exist; WT_BROWSER_REQUIRED=1 makes that a failure too).

Debugging: --server-arg=-v passes -v to wt-server; --netlog FILE writes a
Chromium net-log; --log-dir DIR keeps the browser, server and page logs;
WT_BROWSER_VERBOSE=1 prints all logs even on success.
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
SKIP = 77
PAGE_FILES = {"/echo.html": "text/html; charset=utf-8", "/echo.js": "text/javascript; charset=utf-8"}

# Chromium: [pid:tid:MMDD/HHMMSS.ffffff:INFO:CONSOLE(123)] "WTTEST ...", source: http://... (123)
CHROMIUM_CONSOLE_RE = re.compile(r'CONSOLE[^\]]*\] "(WTTEST .*)", source: ')
# Firefox with devtools.console.stdout.content: console.log: "WTTEST ..."
FIREFOX_CONSOLE_RE = re.compile(r'^console\.log: "(WTTEST .*)"$')
SRV_LISTEN_RE = re.compile(r"^wt-server listening on (.+) port (\d+)$")
SRV_HASH_RE = re.compile(r"^certificate sha256 base64: ([A-Za-z0-9+/=]+)$")
SRV_OPEN_RE = re.compile(r"^session (\d+) open: path (\S+) draft (-?\d+) protocol (.*)$")
SRV_CLOSED_RE = re.compile(r"^session (\d+) closed by (\w+): code (\d+) reason \"(.*?)\"(?: - (.*))?$")
SRV_REFUSED_RE = re.compile(r"refused with (\d{3})")


# --- what each browser is expected to do ------------------------------------

BROWSERS = {
    # name: (kind, extra arguments, draft the server must see)
    "chromium": ("chromium", [], 2),
    "chromium_draft07": ("chromium", ["--enable-features=EnableWebTransportDraft07"], 7),
    "firefox": ("firefox", [], 2),
}


class Case:
    """What a case needs from wt-server and what must be observed.

    session:   a session must open (else it must be refused, see `refused`)
    refused:   HTTP status wt-server must log for the refused request, or
               None (nothing may reach the request stage: TLS refused)
    close:     (by, code, reason) wt-server must log for the session's end
    lines:     regexes wt-server's stdout must contain, or
               {"*" or browser kind: ([regexes], why)} when a browser differs;
               a regex starting with "!" must NOT match any line
    facts:     {"*", browser kind or config: {fact: (expected, why)}}: "*"
               is what the standard says; a browser that differs has its
               actual behaviour asserted instead (expected is a value, or a
               tuple of values when the browser races between outcomes),
               with the reason shown in the docs table, so that a change in
               the browser is noticed
    """

    def __init__(self, desc, session=True, refused=None, close=("client", 0, ""), lines=(), facts=None,
                 host=None, path=None, corrupt_hash=False, allow_page_origin=False, protocol="-"):
        self.desc = desc
        self.session = session
        self.refused = refused
        self.close = close if session else None
        self.lines = lines if isinstance(lines, dict) else {"*": (list(lines), None)}
        self.facts = facts or {}
        self.host = host
        self.path = path
        self.corrupt_hash = corrupt_hash
        self.allow_page_origin = allow_page_origin
        self.protocol = protocol  # {kind: protocol} or one for all


CASES = {
    "echo": Case("smoke test: bidi, uni and datagram echo, close(7, \"bye\")", close=("client", 7, "bye")),
    "ready": Case("`ready` resolves with serverCertificateHashes"),
    "protocols": Case("`protocols: ['wt-b','wt-a']` gives `wt.protocol` 'wt-a' (the server's preference)",
                      protocol={"chromium": "wt-a", "firefox": "-"},
                      facts={"*": {"protocol": ('"wt-a"', None)},
                             "firefox": {"protocol": ("(undefined)", "ignores the JS `protocols` option: sends no "
                                                      "wt-available-protocols, `wt.protocol` is undefined")}}),
    "bidi_10mib": Case("bidi echo of 10 MiB, byte for byte"),
    "bidi_parallel": Case("100 parallel bidi streams echoed"),
    "incoming_uni": Case("3 uni streams opened by the server (open_uni=3)"),
    "incoming_bidi": Case("3 bidi streams opened by the server, echoing (open_bidi=3)"),
    "uni_echo": Case("a uni stream from the browser comes back on a server uni stream"),
    "datagrams": Case("datagrams both ways, of 1, 100, 500, max-1 and exactly maxDatagramSize bytes"),
    "reset_from_browser": Case("writable.abort(WebTransportError{streamErrorCode: 42}): server sees RESET_STREAM 42",
                               lines=[r"^stream \d+: peer reset it \(code 42\)$"]),
    "stop_from_browser": Case("readable.cancel(WebTransportError{streamErrorCode: 43}) on a server bidi stream: "
                              "server sees STOP_SENDING 43",
                              lines={"*": ([r"^stream \d+: peer stopped reading \(code 43\)$"], None),
                                     "firefox": ([r"!peer stopped reading"],
                                                 "wt-server is told of no STOP_SENDING after readable.cancel(): "
                                                 "the stream just ends")}),
    "reset_from_server": Case("server resets with 77 after the echo (reset_code=77): all bytes arrive, then the read "
                              "rejects with streamErrorCode 77",
                              facts={"*": {"read_error": ("WebTransportError 77", None)},
                                     "firefox": {"read_error": (("WebTransportError 77", "TypeError none"),
                                                                "most runs reject the read with TypeError \"Error in "
                                                                "input stream\", without the code (after all the "
                                                                "echoed bytes); a race inside Firefox")}}),
    "stop_from_server": Case("server sends STOP_SENDING 78 (stop_code=78): the writable errors with streamErrorCode 78",
                             facts={"*": {"write_error": ("WebTransportError 78", None)},
                                    "firefox": {"write_error": (("WebTransportError 78", "AbortError none"),
                                                                "most runs error the writable with AbortError "
                                                                "\"error writing data\", without the code (the "
                                                                "STOP_SENDING with 78 is on the wire); a race "
                                                                "inside Firefox")},
                                    "chromium": {"write_error": (("WebTransportError 78", "NetworkError none"),
                                                                 "about half the runs error the writable with "
                                                                 "DOMException NetworkError \"The stream was aborted "
                                                                 "by the remote server\", without the code; a race "
                                                                 "inside Chromium")}}),
    "close_from_browser": Case("close({closeCode: 7, reason: 'bye'}): `closed` resolves, server logs 7 \"bye\"",
                               close=("client", 7, "bye")),
    "close_from_server": Case("server closes with 9 \"server bye\": `closed` resolves with them",
                              close=("server", 9, "server bye")),
    "draining": Case("`draining` resolves when the server drains (drain_after_ms=300)",
                     facts={"*": {"draining": ("resolved", None)},
                            "chromium": {"draining": ("no draining attribute", "has no `draining` attribute; the "
                                                      "session keeps working after the drain")},
                            "firefox": {"draining": ("no draining attribute", "has no `draining` attribute; the "
                                                     "session keeps working after the drain")}}),
    "origin_403": Case("page origin http://localhost:P, session to 127.0.0.1: 403, `ready` rejects",
                       session=False, refused=403, host="127.0.0.1"),
    "origin_allowed": Case("the same with wt-server --allow-origin http://localhost:P: accepted",
                           host="127.0.0.1", allow_page_origin=True),
    "path_404": Case("unknown path /nope: 404, `ready` rejects", session=False, refused=404, path="/nope"),
    "wrong_hash": Case("wrong serverCertificateHashes: `ready` rejects, no request reaches the server",
                       session=False, corrupt_hash=True),
}

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


def find_browser(kind, opt):
    env_name = "CHROMIUM" if kind == "chromium" else "FIREFOX"
    default = "chromium" if kind == "chromium" else "firefox-esr"
    cand = opt or os.environ.get(env_name)
    if cand:
        path = shutil.which(cand)
        if not path:
            return None, f"the {kind} binary given ({cand!r}) does not exist or is not executable", True
        return path, None, False
    path = shutil.which(default)
    if not path:
        return None, f"no `{default}` on PATH and ${env_name} is not set", False
    return path, None, False


def browser_command(kind, binary, tmp, url, extra, netlog):
    profile = os.path.join(tmp, "profile")
    os.makedirs(profile)
    if kind == "chromium":
        cmd = [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-default-browser-check", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0"]
        if netlog:
            cmd += [f"--log-net-log={os.path.abspath(netlog)}", "--net-log-capture-mode=IncludeSensitive"]
    else:
        prefs = {
            "devtools.console.stdout.content": "true",  # console.log on stdout
            "datareporting.policy.dataSubmissionEnabled": "false",
            "network.http.speculative-parallel-limit": "0",  # no idle speculative QUIC connection
            "browser.shell.checkDefaultBrowser": "false",
            "toolkit.telemetry.reportingpolicy.firstRun": "false",
            "app.update.disabledForTesting": "true",
            "browser.aboutwelcome.enabled": "false",
        }
        with open(os.path.join(profile, "user.js"), "w") as f:
            for k, v in prefs.items():
                f.write(f'user_pref("{k}", {v});\n')
        cmd = [binary, "--headless", "--no-remote", "--profile", profile]
    cmd += extra + [url]
    assert "--disable-quic" not in cmd, "never run this test with --disable-quic"
    return cmd


def list_cases():
    for b in BROWSERS:
        for c in CASES:
            print(b, c)


def expected_facts(config, case):
    """The facts to assert for a browser configuration: the standard ("*"),
    overridden by the browser kind's entries, overridden by the config's."""
    kind = BROWSERS[config][0]
    out = dict(case.facts.get("*", {}))
    for key in (kind, config):
        if key != "*":
            out.update(case.facts.get(key, {}))
    return out


def expected_lines(kind, case):
    """([regexes], why) the server's stdout must satisfy for this browser."""
    return case.lines.get(kind, case.lines["*"])


def table():
    """The docs/browsers.md table: what each configuration is expected to do."""
    names = list(BROWSERS)
    print("| Case | What is checked | " + " | ".join(names) + " |")
    print("|---|---|" + "---|" * len(names))
    notes = []
    for cname, case in CASES.items():
        cells = []
        for b in names:
            kind = BROWSERS[b][0]
            why = [w for _, w in expected_facts(b, case).values() if w]
            if expected_lines(kind, case)[1]:
                why.append(expected_lines(kind, case)[1])
            if why:
                notes.append(f"{b} / {cname}: {'; '.join(why)}")
                cells.append(f"differs ({len(notes)})")
            else:
                cells.append("pass")
        print(f"| `{cname}` | {case.desc} | " + " | ".join(cells) + " |")
    print()
    for i, n in enumerate(notes, 1):
        print(f"- ({i}) {n}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("server", nargs="?", help="path to the wt-server binary")
    ap.add_argument("--browser", default="chromium", choices=list(BROWSERS), help="browser configuration")
    ap.add_argument("--case", default="echo", choices=list(CASES), help="the case to run")
    ap.add_argument("--browser-bin", "--chromium", dest="browser_bin", help="browser binary")
    ap.add_argument("--timeout", type=float, default=60.0, help="overall seconds to wait for the page's result")
    ap.add_argument("--server-arg", action="append", default=[], help="extra wt-server argument (repeatable), e.g. -v")
    ap.add_argument("--browser-arg", "--chromium-arg", dest="browser_arg", action="append", default=[],
                    help="extra browser argument (repeatable)")
    ap.add_argument("--netlog", help="Chromium: write a net-log to this file")
    ap.add_argument("--log-dir", help="keep browser.log, server.log and page.log in this directory")
    ap.add_argument("--list", action="store_true", help="print the CONFIG CASE pairs and exit")
    ap.add_argument("--table", action="store_true", help="print the docs table of expectations and exit")
    args = ap.parse_args()
    if args.list:
        list_cases()
        return 0
    if args.table:
        table()
        return 0
    if not args.server:
        ap.error("the wt-server binary is required")
    return run_case(args)


def run_case(args):
    kind, browser_extra, want_draft = BROWSERS[args.browser]
    case = CASES[args.case]
    required = os.environ.get("WT_BROWSER_REQUIRED", "") not in ("", "0")
    binary, why, explicit = find_browser(kind, args.browser_bin)
    if not binary:
        if explicit or required:
            print(f"FAIL: {why}" + (" (WT_BROWSER_REQUIRED is set)" if required and not explicit else ""))
            return 1
        pkg = "chromium" if kind == "chromium" else "firefox-esr"
        print(f"SKIP: {why}; install it (Debian: apt-get install {pkg}) to run this test")
        return SKIP
    if not os.access(args.server, os.X_OK):
        print(f"FAIL: wt-server binary {args.server!r} is not executable")
        return 1

    become_subreaper()
    log = Log()
    tmp = tempfile.mkdtemp(prefix="wt-browser-")
    server = browser = httpd = None
    failures = []
    page = {"start": None, "result": None, "checks": [], "facts": {}}
    srv = {"port": None, "hash": None, "open": None, "closed": None, "refused": None, "exit": None,
           "alive": True, "lines": []}
    console_re = CHROMIUM_CONSOLE_RE if kind == "chromium" else FIREFOX_CONSOLE_RE
    seen_page_lines = set()
    try:
        # --- page server (first: --allow-origin needs its port) -------------
        httpd = QuietHTTPServer(("127.0.0.1", 0), make_http_handler(log))
        threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
        page_origin = f"http://localhost:{httpd.server_address[1]}"

        # --- wt-server -----------------------------------------------------
        cmd = [args.server, "--port", "0"] + args.server_arg
        if case.allow_page_origin:
            cmd += ["--allow-origin", page_origin]
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
        if case.corrupt_hash:
            raw = bytearray(base64.b64decode(wt_hash))
            raw[0] ^= 0xFF
            wt_hash = base64.b64encode(bytes(raw)).decode()

        q = {"case": args.case, "port": srv["port"], "hash": wt_hash}
        if case.host:
            q["host"] = case.host
        if case.path:
            q["path"] = case.path
        url = f"{page_origin}/echo.html?{urllib.parse.urlencode(q)}"

        # --- browser -------------------------------------------------------
        bcmd = browser_command(kind, binary, tmp, url, browser_extra + args.browser_arg, args.netlog)
        print(f"case {args.case} in {args.browser}: {case.desc}")
        print(f"wt-server: {' '.join(cmd)} -> port {srv['port']}, certificate sha256 (base64) {srv['hash']}")
        print(f"browser:   {' '.join(bcmd)}", flush=True)
        env = dict(os.environ, HOME=tmp, MOZ_CRASHREPORTER_DISABLE="1")  # keep the real home untouched
        for k in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env.pop(k, None)  # WebTransport does not work through a proxy
        browser = subprocess.Popen(bcmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True, env=env)
        threading.Thread(target=pump, args=(browser.stdout, "browser", log), daemon=True).start()

        def page_line(text, src):
            if text in seen_page_lines:
                return  # the same line on the other channel
            seen_page_lines.add(text)
            words = text.split(" ", 3)
            kind_ = words[1] if len(words) > 1 else ""
            if kind_ == "start" and page["start"] is None:
                page["start"] = text[len("WTTEST start "):]
            elif kind_ == "check" and len(words) >= 4:
                page["checks"].append((words[2], words[3]))
            elif kind_ == "fact" and len(words) >= 3:
                page["facts"].setdefault(words[2], words[3] if len(words) > 3 else "")
            elif kind_ == "result" and page["result"] is None:
                page["result"] = text[len("WTTEST result "):]
            else:
                return
            print(f"[{log.now():6.2f}s] page ({src}): {text[len('WTTEST '):]}", flush=True)

        def server_line(text):
            srv["lines"].append(text)
            for key, rx in (("open", SRV_OPEN_RE), ("closed", SRV_CLOSED_RE)):
                m = rx.match(text)
                if m and srv[key] is None:
                    srv[key] = m
                    print(f"[{log.now():6.2f}s] server: {text}", flush=True)

        def handle(src, text):
            if text is None:
                if src == "browser" and page["result"] is None:
                    failures.append(f"the browser exited (status {browser.wait()}) before the page reported a result")
                elif src == "server" and srv["alive"]:
                    srv["alive"] = False
                    st = server.wait()
                    failures.append(f"wt-server exited during the test at {log.now():.2f} s (status {st})")
                return False
            if src == "browser":
                m = console_re.search(text)
                if m:
                    line = m.group(1)
                    if kind == "firefox":  # it escapes quotes and backslashes
                        line = re.sub(r'\\(.)', r'\1', line)
                    page_line(line, "console")
            elif src == "page-http":
                page_line(text, "http")
            elif src == "server":
                server_line(text)
            elif src == "server-err":
                m = SRV_REFUSED_RE.search(text)
                if m and srv["refused"] is None:
                    srv["refused"] = int(m.group(1))
            return True

        deadline = log.t0 + args.timeout
        browser_alive = True
        while page["result"] is None and browser_alive and time.monotonic() < deadline:
            try:
                src, text = log.events.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                break
            if not handle(src, text) and src == "browser":
                browser_alive = False
        if page["result"] is None and browser_alive:
            failures.append(f"no result within {args.timeout:.0f} s" +
                            ("" if page["start"] else ": the page never reported (did it load?)"))

        # Lines the server writes after the page is done (the close, a
        # stream's STOP_SENDING code): wait a little for what is missing.
        def server_missing():
            if case.close and srv["closed"] is None and srv["open"] is not None:
                return True
            return any(not rx.startswith("!") and not any(re.search(rx, l) for l in srv["lines"])
                       for rx in expected_lines(kind, case)[0])
        wait_until = time.monotonic() + (5.0 if page["result"] == "PASS" else 0.5)
        while server_missing() and time.monotonic() < wait_until:
            try:
                src, text = log.events.get(timeout=max(0.01, wait_until - time.monotonic()))
            except queue.Empty:
                break
            handle(src, text)
    except SetupError as e:
        failures.append(str(e))
    finally:
        if browser is not None:
            stop_group(browser, 5.0)
        if server is not None:
            srv["exit_how"] = stop_group(server, 5.0)
            srv["exit"] = server.returncode
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        reap_orphans()
        time.sleep(0.1)  # late lines: the pump threads end at EOF
        while True:
            try:
                src, text = log.events.get_nowait()
            except queue.Empty:
                break
            if text is not None and src in ("server", "server-err", "page-http"):
                handle(src, text)
        shutil.rmtree(tmp, ignore_errors=True)
        if args.log_dir:
            os.makedirs(args.log_dir, exist_ok=True)
            log.write(os.path.join(args.log_dir, "browser.log"), {"browser"})
            log.write(os.path.join(args.log_dir, "server.log"), {"server", "server-err"})
            log.write(os.path.join(args.log_dir, "page.log"), {"page-http", "http"})

    rows = verdict_rows(args, kind, want_draft, case, page, srv)
    passed = not failures and all(ok for _, ok, _ in rows)
    print(f"\nbrowser test summary: {args.browser} / {args.case}")
    for name, ok, detail in rows:
        print(f"  {'ok  ' if ok else 'FAIL'}  {name:38s} {detail}")
    for f in failures:
        print(f"  FAIL  {f}")
    for t in [t for _, s, t in log.lines if s == "server-err" and ": error:" in t][:10]:
        print(f"  warn  server stderr: {t}")
    if not passed or os.environ.get("WT_BROWSER_VERBOSE"):
        print("\n  wt-server output:")
        log.dump({"server", "server-err"}, limit=200)
        print(f"\n  {kind} output (last 60 lines):")
        log.dump({"browser"}, limit=60)
    print(f"\nRESULT: {'PASS' if passed else 'FAIL'} ({log.now():.1f} s)")
    return 0 if passed else 1


def verdict_rows(args, kind, want_draft, case, page, srv):
    rows = []
    def row(name, ok, detail=""):
        rows.append((name, ok, detail))

    row("page loaded", page["start"] is not None, page["start"] or "no WTTEST line from the page")
    for name, rest in page["checks"]:
        row(f"page: {name}", rest.startswith("ok"), rest.split(" ", 1)[1] if " " in rest else "")
    result = page["result"] or "none"
    row("page result", result == "PASS", result)
    for fact, (want, why) in expected_facts(args.browser, case).items():
        got = page["facts"].get(fact)
        note = f" ({args.browser}: {why})" if why else ""
        wants = want if isinstance(want, tuple) else (want,)
        row(f"page fact {fact} = {' or '.join(wants)}", got in wants, f"got {got}{note}")

    m = srv["open"]
    if case.session:
        want_proto = case.protocol.get(kind, "-") if isinstance(case.protocol, dict) else case.protocol
        if not m:
            row("server: session opened", False, "no `session N open` line")
        else:
            row("server: session opened", m.group(2).split("?")[0] == (case.path or "/echo"),
                f"path {m.group(2)}")
            row(f"server: draft {want_draft}", m.group(3) == str(want_draft), f"draft {m.group(3)}")
            row(f"server: protocol {want_proto}", m.group(4) == want_proto, f"protocol {m.group(4)}")
        by, code, reason = case.close
        c = srv["closed"]
        ok = bool(c) and (c.group(2), int(c.group(3)), c.group(4)) == (by, code, reason)
        row(f"server: closed by {by} {code} \"{reason}\"", ok, c.group(0) if c else "no `session N closed` line")
    else:
        row("server: no session opened", m is None, m.group(0) if m else "")
        if case.refused:
            row(f"server: request refused with {case.refused}", srv["refused"] == case.refused,
                f"refused with {srv['refused']}" if srv["refused"] else "no `request refused` line")
        else:
            row("server: no request reached it", srv["refused"] is None,
                f"refused with {srv['refused']}" if srv["refused"] else "")
    rxs, why = expected_lines(kind, case)
    note = f" ({kind}: {why})" if why else ""
    for rx in rxs:
        hit = next((l for l in srv["lines"] if re.search(rx.lstrip("!"), l)), None)
        if rx.startswith("!"):
            row(f"server: no line /{rx[1:]}/", hit is None, (hit or "none") + note)
        else:
            row(f"server: /{rx}/", hit is not None, (hit or "no such line") + note)
    exit_ok = srv["exit"] == 0 and srv.get("exit_how") == "stopped by SIGTERM"
    row("server: clean exit on SIGTERM", exit_ok, f"{srv.get('exit_how')}, status {srv['exit']}")
    return rows


if __name__ == "__main__":
    sys.exit(main())
