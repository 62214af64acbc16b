#!/usr/bin/env python3
"""Headless Chromium loads a page over plain HTTP/3 from `wt-server --root` (stdlib only).

  http3_fetch_test.py [--chromium BIN] [--timeout S] [--log-dir DIR] PATH/TO/wt-server

1. Writes a root directory (index.html, page.js, a 1 MiB data.bin) and an ECDSA
   P-256 certificate for localhost valid 10 days (openssl), and computes the
   base64 SHA-256 of its SubjectPublicKeyInfo.
2. Starts `wt-server --port 0 --root DIR --cert --key` (127.0.0.1 and ::1).
3. Runs Chromium headless (fresh profile, never --disable-quic) on
   https://localhost:PORT/ with --origin-to-force-quic-on=localhost:PORT and
   --ignore-certificate-errors-spki-list=SPKI, so the page, its script and its
   fetches can only come over QUIC from wt-server. page.js reports one
   "H3TEST ..." console line: the protocol of the navigation and of a fetch
   (nextHopProtocol), the fetch's status, content type, length and SHA-256
   (crypto.subtle), and the statuses of a missing file and of a POST.
4. Passes only if both protocols are h3, the body's SHA-256 equals the file's,
   and the statuses are 200, 404 and 405.

Exit status: 0 pass, 1 fail, 77 skip (only when no Chromium binary exists and
WT_BROWSER_REQUIRED is not set). Self-contained on purpose: it does not share
code with run_browser_test.py.
"""
import argparse
import base64
import hashlib
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

SKIP = 77
CONSOLE_RE = re.compile(r'CONSOLE[^\]]*\] "(H3TEST .*)", source: ')
LISTEN_RE = re.compile(r"^wt-server listening on .+ port (\d+)$")

INDEX = """<!doctype html>
<meta charset="utf-8">
<title>HTTP/3 from wt-server</title>
<p>served over HTTP/3</p>
<script src="/page.js"></script>
"""

PAGE_JS = r"""
(async () => {
  try {
    const nav = performance.getEntriesByType('navigation')[0];
    const r = await fetch('/data.bin', {cache: 'no-store'});
    const buf = await r.arrayBuffer();
    const d = new Uint8Array(await crypto.subtle.digest('SHA-256', buf));
    const hex = Array.from(d, b => b.toString(16).padStart(2, '0')).join('');
    const entry = performance.getEntriesByName(r.url)[0];
    const missing = await fetch('/missing.txt', {cache: 'no-store'});
    const post = await fetch('/data.bin', {method: 'POST', body: 'x'});
    console.log(`H3TEST nav=${nav.nextHopProtocol} fetch=${entry ? entry.nextHopProtocol : '?'} ` +
                `status=${r.status} type=${r.headers.get('content-type')} len=${buf.byteLength} sha=${hex} ` +
                `missing=${missing.status} post=${post.status} allow=${post.headers.get('allow')}`);
  } catch (e) {
    console.log('H3TEST error ' + e);
  }
})();
"""


def find_chromium(opt):
    for cand in (opt, os.environ.get("CHROMIUM"), shutil.which("chromium")):
        if cand and os.access(cand, os.X_OK):
            return cand
    return None


def make_certificate(tmp):
    """ECDSA P-256 certificate for localhost; returns (cert, key, base64 SPKI SHA-256)."""
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                    "-nodes", "-days", "10", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1",
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"], check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, check=True,
                         capture_output=True).stdout
    return cert, key, base64.b64encode(hashlib.sha256(der).digest()).decode()


def pump(stream, name, q, log):
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        log.append(f"[{name}] {line}")
        q.put((name, line))
    q.put((name, None))


def stop(proc):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("server")
    ap.add_argument("--chromium")
    ap.add_argument("--timeout", type=float, default=60.0)
    ap.add_argument("--log-dir")
    args = ap.parse_args()

    chromium = find_chromium(args.chromium)
    if not chromium:
        if os.environ.get("WT_BROWSER_REQUIRED") == "1":
            print("FAIL: no Chromium (WT_BROWSER_REQUIRED=1)")
            return 1
        print("SKIP: no chromium on PATH and $CHROMIUM is not set")
        return SKIP
    if not shutil.which("openssl"):
        print("FAIL: openssl is needed to make the test certificate")
        return 1

    tmp = tempfile.mkdtemp(prefix="wt-h3fetch-")
    log, q = [], queue.Queue()
    server = browser = None
    result = None
    try:
        root = os.path.join(tmp, "root")
        os.mkdir(root)
        data = bytes((i * 7 ^ (i >> 9) ^ (i >> 17)) & 0xFF for i in range(1 << 20))
        for name, body in (("index.html", INDEX.encode()), ("page.js", PAGE_JS.encode()), ("data.bin", data)):
            with open(os.path.join(root, name), "wb") as f:
                f.write(body)
        want_sha = hashlib.sha256(data).hexdigest()
        cert, key, spki = make_certificate(tmp)

        server = subprocess.Popen([args.server, "--port", "0", "--root", root, "--cert", cert, "--key", key],
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
        threading.Thread(target=pump, args=(server.stdout, "server", q, log), daemon=True).start()
        port = None
        deadline = time.monotonic() + 10
        while port is None and time.monotonic() < deadline:
            try:
                src, line = q.get(timeout=0.5)
            except queue.Empty:
                continue
            if line is None:
                break
            m = LISTEN_RE.match(line)
            if m:
                port = int(m.group(1))
        if port is None:
            print("FAIL: wt-server did not start")
            return 1

        url = f"https://localhost:{port}/"
        cmd = [chromium, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--no-default-browser-check", f"--user-data-dir={os.path.join(tmp, 'profile')}",
               "--enable-logging=stderr", "--v=0",
               f"--origin-to-force-quic-on=localhost:{port}",
               f"--ignore-certificate-errors-spki-list={spki}", url]
        assert "--disable-quic" not in cmd
        print("chromium: " + " ".join(cmd), flush=True)
        browser = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        threading.Thread(target=pump, args=(browser.stdout, "chromium", q, log), daemon=True).start()
        deadline = time.monotonic() + args.timeout
        while result is None and time.monotonic() < deadline:
            try:
                src, line = q.get(timeout=0.5)
            except queue.Empty:
                continue
            if src == "chromium" and line is None:
                break
            m = CONSOLE_RE.search(line or "") if src == "chromium" else None
            if m:
                result = m.group(1)
    finally:
        stop(browser)
        stop(server)
        if args.log_dir:
            os.makedirs(args.log_dir, exist_ok=True)
            with open(os.path.join(args.log_dir, "http3_fetch.log"), "w", encoding="utf-8") as f:
                f.write("\n".join(log) + "\n")
        shutil.rmtree(tmp, ignore_errors=True)

    if result is None:
        print(f"FAIL: the page reported nothing within {args.timeout:.0f} s")
        print("\n".join(log[-60:]))
        return 1
    print("page: " + result)
    fields = dict(kv.split("=", 1) for kv in result.split()[1:] if "=" in kv)
    checks = [
        ("navigation over HTTP/3", fields.get("nav") == "h3"),
        ("fetch over HTTP/3", fields.get("fetch") == "h3"),
        ("fetch status 200", fields.get("status") == "200"),
        ("content type", fields.get("type") == "application/octet-stream"),
        ("1 MiB received", fields.get("len") == str(1 << 20)),
        ("SHA-256 of the body", fields.get("sha") == want_sha),
        ("missing file 404", fields.get("missing") == "404"),
        ("POST 405", fields.get("post") == "405"),
        ("405 names the allowed methods", result.endswith("allow=GET, HEAD")),
    ]
    for name, ok in checks:
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
    passed = all(ok for _, ok in checks)
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
