// echo.js: runs ONE WebTransport test case (?case=NAME) against wt-server.
//
// Every observable outcome is one line starting with "WTTEST ", written with
// console.log and also POSTed, in order, to /wtlog on the page's origin (the
// harness, run_browser_test.py, reads that channel; it works the same in
// every browser). Lines:
//   WTTEST start <userAgent>
//   WTTEST check <name> ok|fail <details>   what the page verified itself
//   WTTEST fact <name> <value>              what the browser did, for the
//                                           harness to compare with what it
//                                           expects of that browser
//   WTTEST result PASS
//   WTTEST result FAIL <why>
// Exactly one result line is written. The page checks what every browser
// must do; behaviour that differs between browsers (e.g. Firefox ignoring
// the `protocols` option) is reported as a fact and judged by the harness,
// and what the server must have seen is checked in wt-server's log.
//
// Query string: case, port, hash (base64 SHA-256 of the certificate),
// optional host (default localhost) and path (default /echo).
// The codes and sizes below are mirrored in run_browser_test.py's CASES.
'use strict';

const STEP_TIMEOUT_MS = 15000;
const GLOBAL_TIMEOUT_MS = 50000;

const params = new URLSearchParams(location.search);
const caseName = params.get('case') || 'echo';
const port = params.get('port');
const hashB64 = params.get('hash');
const path = params.get('path') || '/echo';
const host = params.get('host') || 'localhost';

const t0 = performance.now();
let finished = false;
let logChain = Promise.resolve();

function ms() {
  return Math.round(performance.now() - t0) + 'ms';
}

function log(text) {
  const line = 'WTTEST ' + text;
  console.log(line);
  const out = document.getElementById('out');
  if (out) out.textContent += line + '\n';
  // Serialised so the harness sees the lines in order on this channel too.
  logChain = logChain
    .then(() => fetch('/wtlog', {method: 'POST', body: line, cache: 'no-store'}))
    .catch(() => {});
}

function fact(name, value) {
  log('fact ' + name + ' ' + String(value).replace(/[\r\n]+/g, ' '));
}

function check(name, detail) {
  log('check ' + name + ' ok ' + detail + ' ' + ms());
}

function errText(e) {
  if (e === undefined || e === null) return String(e);
  let s = (e.name ? e.name + ': ' : '') + (e.message !== undefined ? e.message : String(e));
  if (e.source !== undefined) s += ' (source ' + e.source + ')';
  if (e.streamErrorCode !== undefined && e.streamErrorCode !== null) s += ' (streamErrorCode ' + e.streamErrorCode + ')';
  return s.replace(/[\r\n]+/g, ' ');
}

// "WebTransportError 77", "NetworkError none": what the harness compares.
function errorClass(e) {
  const code = e && e.streamErrorCode !== undefined && e.streamErrorCode !== null ? e.streamErrorCode : 'none';
  return (e && e.name ? e.name : String(e)) + ' ' + code;
}

function finish(ok, why) {
  if (finished) return;
  finished = true;
  log(ok ? 'result PASS' : 'result FAIL ' + why);
}

function withTimeout(p, msec, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what + ' did not complete within ' + msec + ' ms')), msec);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const sleep = msec => new Promise(res => setTimeout(res, msec));

// Deterministic, non-periodic test bytes (xorshift32), different per seed.
function pattern(n, seed) {
  const a = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    a[i] = x & 0xff;
  }
  return a;
}

function concat(chunks, total) {
  const r = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    r.set(c, o);
    o += c.length;
  }
  return r;
}

// Returns null when equal, else a description of the first difference.
function compare(got, want) {
  const n = Math.min(got.length, want.length);
  for (let i = 0; i < n; i++) {
    if (got[i] !== want[i]) return 'byte ' + i + ' is ' + got[i] + ', expected ' + want[i];
  }
  if (got.length !== want.length) return 'got ' + got.length + ' bytes, expected ' + want.length;
  return null;
}

function expectSame(got, want, what) {
  const diff = compare(got, want);
  if (diff) throw new Error(what + ' differs: ' + diff);
}

const enc = new TextEncoder();
const dec = new TextDecoder();

// `progress` records how far a read or write got, so that a timeout can
// say where the stream stalled (e.g. "all bytes echoed but no FIN").
async function readAll(readable, progress) {
  const reader = readable.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.length;
    if (progress) progress.read = total;
  }
  if (progress) progress.fin = true;
  return concat(chunks, total);
}

async function writeAll(writable, data, progress) {
  const writer = writable.getWriter();
  const CHUNK = 64 * 1024;
  for (let o = 0; o < data.length; o += CHUNK) {
    await writer.write(data.subarray(o, Math.min(o + CHUNK, data.length)));
    if (progress) progress.written = Math.min(o + CHUNK, data.length);
  }
  await writer.close();
  if (progress) progress.closed = true;
}

function newProgress() {
  return {written: 0, closed: false, read: 0, fin: false};
}

function describe(p, total) {
  return 'wrote ' + p.written + '/' + total + (p.closed ? ' + FIN' : ' (FIN not written)') + ', received ' + p.read +
         '/' + total + (p.fin ? ' + FIN' : ', no FIN yet');
}

async function timed(p, msec, what, progress, total) {
  try {
    return await withTimeout(p, msec, what);
  } catch (e) {
    if (progress) e.message += ' (' + describe(progress, total) + ')';
    throw e;
  }
}

// Writes `data` and FIN on a new bidi stream and returns the echo. Reads
// while writing: the server echoes as it reads, so a reader that starts late
// could leave both sides waiting on flow control.
async function bidiEcho(wt, data, msec) {
  const stream = await wt.createBidirectionalStream();
  const progress = newProgress();
  const [echo] = await timed(Promise.all([readAll(stream.readable, progress), writeAll(stream.writable, data, progress)]),
                             msec, 'bidi echo of ' + data.length + ' bytes', progress, data.length);
  return echo;
}

function certHash() {
  const hash = Uint8Array.from(atob(hashB64), c => c.charCodeAt(0));
  if (hash.length !== 32) throw new Error('hash has ' + hash.length + ' bytes, expected 32');
  return [{algorithm: 'sha-256', value: hash}];
}

// A session of this case. `closedEarly` turns an unexpected end of the
// session into the case's failure with the reason `closed` gave.
class Session {
  constructor(query, options) {
    this.url = 'https://' + host + ':' + port + path + (query ? '?' + query : '');
    this.wt = new WebTransport(this.url, Object.assign({serverCertificateHashes: certHash()}, options || {}));
    this.closing = false;
    this.closedInfo = null;
    this.closedError = null;
    this.wt.closed.then(info => { this.closedInfo = info; }, e => { this.closedError = e; });
    this.endedEarly = new Promise((_, reject) => {
      this.wt.closed.then(
        info => { if (!this.closing) reject(new Error('session closed early: closeCode ' + info.closeCode + ' reason ' + JSON.stringify(info.reason))); },
        e => { if (!this.closing) reject(new Error('session closed early: ' + errText(e))); });
    });
    this.endedEarly.catch(() => {});
  }

  async ready() {
    await withTimeout(this.wt.ready, STEP_TIMEOUT_MS, 'ready for ' + this.url);
    check('ready', this.url);
  }

  // Races `p` against the session ending first.
  run(p) {
    return Promise.race([p, this.endedEarly]);
  }

  async close(closeCode, reason) {
    this.closing = true;
    this.wt.close({closeCode: closeCode, reason: reason});
    return await withTimeout(this.wt.closed, STEP_TIMEOUT_MS, 'transport.closed after close()');
  }
}

// Each case returns when it passed and throws an Error saying what failed.
const CASES = {
  async echo(s) { // the quick smoke test: one of everything, then close(7, "bye")
    await s.ready();
    const data = pattern(64 * 1024, 1);
    expectSame(await s.run(bidiEcho(s.wt, data, STEP_TIMEOUT_MS)), data, 'bidi echo');
    check('bidi', data.length + ' bytes echoed');
    await CASES_HELPERS.uniEcho(s, 16 * 1024 + 7);
    await CASES_HELPERS.datagramEcho(s, [200, 200, 200]);
    await CASES_HELPERS.closeWith(s, 7, 'bye');
  },

  async ready(s) {
    await s.ready();
    fact('ready', 'resolved');
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async protocols(s) {
    await s.ready();
    // The server prefers wt-a (its list: wt-a,wt-b), we offer wt-b first.
    fact('protocol', s.wt.protocol === undefined ? '(undefined)' : JSON.stringify(s.wt.protocol));
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async bidi_10mib(s) {
    await s.ready();
    const data = pattern(10 * 1024 * 1024, 3);
    const t = performance.now();
    const echo = await s.run(bidiEcho(s.wt, data, 40000));
    const secs = (performance.now() - t) / 1000;
    expectSame(echo, data, '10 MiB bidi echo');
    check('bidi_10mib', data.length + ' bytes echoed intact in ' + secs.toFixed(2) + ' s (' +
          (data.length * 8 / secs / 1e6).toFixed(1) + ' Mbit/s each way)');
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async bidi_parallel(s) {
    await s.ready();
    const N = 100;
    const sent = [];
    for (let i = 0; i < N; i++) sent.push(pattern(1000 + 37 * i, 1000 + i));
    const echoes = await s.run(Promise.all(sent.map(d => bidiEcho(s.wt, d, 30000))));
    for (let i = 0; i < N; i++) expectSame(echoes[i], sent[i], 'stream ' + i + ' echo');
    check('bidi_parallel', N + ' parallel bidi streams echoed intact');
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async incoming_uni(s) { // ?open_uni=3
    await s.ready();
    const reader = s.wt.incomingUnidirectionalStreams.getReader();
    for (let i = 0; i < 3; i++) {
      const r = await s.run(withTimeout(reader.read(), STEP_TIMEOUT_MS, 'server uni stream ' + (i + 1) + ' of 3'));
      if (r.done) throw new Error('incomingUnidirectionalStreams ended after ' + i + ' streams');
      const text = dec.decode(await s.run(withTimeout(readAll(r.value), STEP_TIMEOUT_MS, 'reading server uni stream')));
      if (text !== 'srv-uni\n') throw new Error('server uni stream ' + i + ' carried ' + JSON.stringify(text));
    }
    reader.releaseLock();
    check('incoming_uni', '3 server-opened uni streams carried "srv-uni\\n" + FIN');
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async incoming_bidi(s) { // ?open_bidi=3: "srv-bidi", then the echo of what we send
    await s.ready();
    const reader = s.wt.incomingBidirectionalStreams.getReader();
    const work = [];
    for (let i = 0; i < 3; i++) {
      const r = await s.run(withTimeout(reader.read(), STEP_TIMEOUT_MS, 'server bidi stream ' + (i + 1) + ' of 3'));
      if (r.done) throw new Error('incomingBidirectionalStreams ended after ' + i + ' streams');
      const msg = enc.encode('to server bidi ' + i);
      const want = concat([enc.encode('srv-bidi'), msg], 8 + msg.length);
      work.push(Promise.all([readAll(r.value.readable), writeAll(r.value.writable, msg)]).then(([got]) => {
        expectSame(got, want, 'server bidi stream ' + i);
      }));
    }
    reader.releaseLock();
    await s.run(withTimeout(Promise.all(work), STEP_TIMEOUT_MS, 'echo on the server bidi streams'));
    check('incoming_bidi', '3 server-opened bidi streams: "srv-bidi" then our bytes echoed, FIN both ways');
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async uni_echo(s) {
    await s.ready();
    await CASES_HELPERS.uniEcho(s, 100 * 1024 + 7);
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async datagrams(s) {
    await s.ready();
    const max = s.wt.datagrams.maxDatagramSize;
    fact('max_datagram_size', max);
    if (!(max >= 1000)) throw new Error('maxDatagramSize is ' + max + ', expected at least 1000 on loopback');
    await CASES_HELPERS.datagramEcho(s, [1, 100, 500, max - 1, max]);
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async reset_from_browser(s) { // the server must log "peer reset it (code 42)"
    await s.ready();
    const st = await s.wt.createBidirectionalStream();
    const w = st.writable.getWriter();
    await w.write(pattern(1000, 5));
    await w.abort(new WebTransportError({message: 'test reset', streamErrorCode: 42}));
    check('abort', 'writable aborted with WebTransportError streamErrorCode 42');
    await sleep(500); // the harness waits for the server's line anyway
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async stop_from_browser(s) { // ?open_bidi=1; the server must log "peer stopped reading (code 43)"
    await s.ready();
    // A stream the server opened: it exists on both sides before we act
    // (a browser may send nothing for a stream of its own it has not
    // written to).
    const reader = s.wt.incomingBidirectionalStreams.getReader();
    const r = await s.run(withTimeout(reader.read(), STEP_TIMEOUT_MS, 'the server bidi stream'));
    if (r.done) throw new Error('incomingBidirectionalStreams ended');
    reader.releaseLock();
    await r.value.readable.cancel(new WebTransportError({message: 'test stop', streamErrorCode: 43}));
    // Then our FIN, without data: the server has nothing to echo, its side
    // ends and so does the stream (ngtcp2 0.12.1 tells a server of a
    // STOP_SENDING code only when the stream closes, see
    // docs/architecture.md).
    await r.value.writable.getWriter().close();
    check('cancel', 'readable cancelled with WebTransportError streamErrorCode 43, then FIN');
    await sleep(300);
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async reset_from_server(s) { // ?reset_code=77: the echo, then RESET_STREAM(77)
    await s.ready();
    const data = pattern(3000, 7);
    const st = await s.wt.createBidirectionalStream();
    const reader = st.readable.getReader();
    const writing = writeAll(st.writable, data);
    const chunks = [];
    let total = 0;
    let error = null;
    try {
      await s.run(withTimeout((async () => {
        for (;;) {
          const {value, done} = await reader.read();
          if (done) break;
          chunks.push(value);
          total += value.length;
        }
      })(), STEP_TIMEOUT_MS, 'reading until the reset'));
    } catch (e) {
      if (e.message.startsWith('session closed early') || e.message.includes('did not complete')) throw e;
      error = e;
    }
    await writing;
    if (!error) throw new Error('the readable ended with a FIN after ' + total + ' bytes, expected a reset');
    fact('read_error', errorClass(error));
    // wt-server resets only once the echo is acknowledged: all of it arrived.
    if (total !== data.length) throw new Error('the read failed after ' + total + ' of ' + data.length + ' echoed bytes: ' + errText(error));
    check('reset_from_server', 'read rejected after all ' + total + ' bytes: ' + errText(error));
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async stop_from_server(s) { // ?stop_code=78: STOP_SENDING(78) as soon as the server sees the stream
    await s.ready();
    const st = await s.wt.createBidirectionalStream();
    const w = st.writable.getWriter();
    // One write makes the stream exist at the server; then no write is in
    // flight when the STOP_SENDING arrives, and writer.closed must reject.
    // (The stop may also reject that first write, if it is still in flight.)
    let error = null;
    try {
      await w.write(pattern(1000, 8));
      await s.run(withTimeout(w.closed, STEP_TIMEOUT_MS, 'writer.closed rejecting after STOP_SENDING'));
    } catch (e) {
      if (e.message.startsWith('session closed early') || e.message.includes('did not complete')) throw e;
      error = e;
    }
    if (!error) throw new Error('writer.closed resolved; expected the server\'s STOP_SENDING to error the writable');
    let writeError = null;
    try {
      await w.write(pattern(10, 8));
    } catch (e) {
      writeError = e;
    }
    if (!writeError) throw new Error('a write after STOP_SENDING succeeded');
    fact('write_error', errorClass(error));
    check('stop_from_server', 'writer.closed rejected: ' + errText(error) + '; a later write rejected: ' + errText(writeError));
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async close_from_browser(s) { // the server must log "closed by client: code 7 reason "bye""
    await s.ready();
    await CASES_HELPERS.closeWith(s, 7, 'bye');
  },

  async close_from_server(s) { // ?close_after_ms=300&code=9&reason=server bye
    await s.ready();
    s.closing = true; // expected: the server closes
    let info;
    try {
      info = await withTimeout(s.wt.closed, STEP_TIMEOUT_MS, 'transport.closed (server closes after 300 ms)');
    } catch (e) {
      fact('closed', 'rejected ' + errText(e));
      throw new Error('closed rejected: ' + errText(e));
    }
    fact('closed', 'resolved closeCode ' + info.closeCode + ' reason ' + JSON.stringify(info.reason));
    if (info.closeCode !== 9 || info.reason !== 'server bye') throw new Error('closed resolved with closeCode ' + info.closeCode + ' reason ' + JSON.stringify(info.reason) + ', expected 9 "server bye"');
    check('closed', 'resolved with closeCode 9 reason "server bye"');
  },

  async draining(s) { // ?drain_after_ms=300
    await s.ready();
    const t = performance.now();
    if ('draining' in s.wt) {
      await s.run(withTimeout(s.wt.draining, STEP_TIMEOUT_MS, 'draining (server drains after 300 ms)'));
      fact('draining', 'resolved');
      check('draining', 'resolved ' + Math.round(performance.now() - t) + ' ms after ready');
    } else {
      fact('draining', 'no draining attribute');
      await s.run(sleep(600)); // the session must survive the server's drain all the same
    }
    // A drained session still works until it is closed.
    const data = pattern(1000, 9);
    expectSame(await s.run(bidiEcho(s.wt, data, STEP_TIMEOUT_MS)), data, 'bidi echo after draining');
    check('after_draining', 'bidi echo still works ' + Math.round(performance.now() - t) + ' ms after ready');
    await CASES_HELPERS.closeWith(s, 0, '');
  },

  async rejected(s) { // origin_403, path_404, wrong_hash: `ready` must reject
    let err = null;
    try {
      await withTimeout(s.wt.ready, 40000, 'ready for ' + s.url);
    } catch (e) {
      err = e;
    }
    s.closing = true;
    if (!err) throw new Error('ready resolved for ' + s.url + ', expected a rejection');
    if (err.message.includes('did not complete')) throw err;
    fact('ready', 'rejected ' + errText(err));
    check('rejected', 'ready rejected: ' + errText(err));
  },
};

const CASES_HELPERS = {
  async uniEcho(s, n) {
    const data = pattern(n, 2);
    const incoming = s.wt.incomingUnidirectionalStreams.getReader();
    const gotStream = incoming.read();
    gotStream.catch(() => {});
    const progress = newProgress();
    const out = await s.wt.createUnidirectionalStream();
    await s.run(timed(writeAll(out, data, progress), STEP_TIMEOUT_MS, 'uni write of ' + n + ' bytes', progress, n));
    const r = await s.run(timed(gotStream, STEP_TIMEOUT_MS, 'server-opened uni stream', progress, n));
    if (r.done) throw new Error('incomingUnidirectionalStreams ended without a stream');
    const echo = await s.run(timed(readAll(r.value, progress), STEP_TIMEOUT_MS, 'reading the server uni stream', progress, n));
    incoming.releaseLock();
    expectSame(echo, data, 'uni echo');
    check('uni', n + ' bytes echoed on a server uni stream');
  },

  // Sends one datagram of each size (byte 0 marker, byte 1 index) every
  // 300 ms until each has been echoed; datagrams are unreliable, though
  // loopback should lose none. Every incoming datagram must fit in
  // maxDatagramSize and match what was sent.
  async datagramEcho(s, sizes) {
    const max = s.wt.datagrams.maxDatagramSize;
    const sent = sizes.map((n, i) => {
      const d = pattern(n, 100 + i);
      d[0] = 0xd6;
      if (n > 1) d[1] = i;
      return d;
    });
    // Chromium keeps only incomingHighWaterMark unread datagrams (default 1).
    if ('incomingHighWaterMark' in s.wt.datagrams) s.wt.datagrams.incomingHighWaterMark = 4 * sizes.length;
    const reader = s.wt.datagrams.readable.getReader();
    const writer = s.wt.datagrams.writable.getWriter();
    const received = new Set();
    let rounds = 0, incoming = 0, largest = 0;
    const deadline = performance.now() + STEP_TIMEOUT_MS;
    let pending = reader.read();
    pending.catch(() => {});
    while (received.size < sent.length) {
      if (performance.now() > deadline) {
        const missing = sizes.filter((n, i) => !received.has(i));
        throw new Error('no echo of the datagrams of ' + missing.join(', ') + ' bytes within ' + STEP_TIMEOUT_MS + ' ms (' +
                        rounds + ' rounds; maxDatagramSize ' + max + ')');
      }
      rounds++;
      for (let i = 0; i < sent.length; i++) if (!received.has(i)) await s.run(writer.write(sent[i]));
      const roundEnd = performance.now() + 300;
      while (received.size < sent.length) {
        const left = roundEnd - performance.now();
        if (left <= 0) break;
        let timer;
        const r = await s.run(Promise.race([pending, new Promise(res => { timer = setTimeout(() => res(null), left); })]));
        clearTimeout(timer);
        if (r === null) break;
        if (r.done) throw new Error('datagram readable ended');
        pending = reader.read();
        pending.catch(() => {});
        const got = r.value;
        incoming++;
        largest = Math.max(largest, got.length);
        if (got.length > max) throw new Error('received a datagram of ' + got.length + ' bytes, larger than maxDatagramSize ' + max);
        const i = got.length === 1 ? 0 : got[1];
        if (got[0] !== 0xd6 || i >= sent.length) {
          throw new Error('unexpected datagram of ' + got.length + ' bytes, first bytes ' + Array.from(got.slice(0, 4)));
        }
        expectSame(got, sent[i], 'datagram of ' + sizes[i] + ' bytes');
        received.add(i);
      }
    }
    reader.releaseLock();
    writer.releaseLock();
    check('datagrams', 'echoed: ' + sizes.join(', ') + ' bytes (maxDatagramSize ' + max + ', ' + incoming +
          ' received, largest ' + largest + ', ' + rounds + ' round(s))');
  },

  async closeWith(s, code, reason) {
    const info = await s.close(code, reason);
    fact('closed', 'resolved closeCode ' + (info && info.closeCode) + ' reason ' + JSON.stringify(info && info.reason));
    check('close', 'close({closeCode: ' + code + ', reason: ' + JSON.stringify(reason) + '}) then closed resolved');
  },
};

// The server-side script (wt-server query) and client options of each case.
const SETUP = {
  protocols: {query: 'protocols=wt-a,wt-b', options: {protocols: ['wt-b', 'wt-a']}},
  incoming_uni: {query: 'open_uni=3'},
  incoming_bidi: {query: 'open_bidi=3'},
  stop_from_browser: {query: 'open_bidi=1'},
  reset_from_server: {query: 'reset_code=77'},
  stop_from_server: {query: 'stop_code=78'},
  close_from_server: {query: 'close_after_ms=300&code=9&reason=server%20bye'},
  draining: {query: 'drain_after_ms=300'},
  origin_403: {run: 'rejected'},
  path_404: {run: 'rejected'},
  wrong_hash: {run: 'rejected'},
  origin_allowed: {run: 'ready'},
};

async function main() {
  log('start ' + navigator.userAgent.replace(/[\r\n"]/g, ' '));
  if (!port || !hashB64) throw new Error('missing port or hash in the query string');
  if (typeof WebTransport === 'undefined') throw new Error('WebTransport is not available (secure context: ' + isSecureContext + ')');
  const setup = SETUP[caseName] || {};
  const run = CASES[setup.run || caseName];
  if (!run) throw new Error('unknown case ' + caseName);
  const s = new Session(setup.query, setup.options);
  await run(s);
  finish(true);
}

window.addEventListener('error', ev => finish(false, 'uncaught error: ' + errText(ev.error || ev.message)));
window.addEventListener('unhandledrejection', ev => finish(false, 'unhandled rejection: ' + errText(ev.reason)));
setTimeout(() => finish(false, 'global timeout: case ' + caseName + ' still running after ' + GLOBAL_TIMEOUT_MS + ' ms'),
           GLOBAL_TIMEOUT_MS);
main().catch(e => finish(false, errText(e)));
