// echo.js: drives one WebTransport session against wt-server's /echo.
//
// Every observable outcome is one line starting with "WTTEST ", written with
// console.log (Chromium copies it to stderr with --enable-logging=stderr) and
// also POSTed, in order, to /wtlog on the page's origin, so the harness
// (run_browser_test.py) has a second channel that does not depend on
// Chromium's log format. Lines:
//   WTTEST start <userAgent>
//   WTTEST step <name> ok <details>
//   WTTEST step <name> fail <why>
//   WTTEST result PASS
//   WTTEST result FAIL <step>: <why>
// Steps, in order: ready, bidi, datagram, uni, close. Exactly one result line
// is written; the first failure ends the run.
'use strict';

const BIDI_BYTES = 64 * 1024;
const UNI_BYTES = 16 * 1024 + 7;
const DGRAM_COUNT = 5;
const DGRAM_BYTES = 200;
const STEP_TIMEOUT_MS = 10000;
const GLOBAL_TIMEOUT_MS = 40000;

const params = new URLSearchParams(location.search);
const port = params.get('port');
const hashB64 = params.get('hash');
const path = params.get('path') || '/echo';
const host = params.get('host') || 'localhost';

const t0 = performance.now();
let current = 'init';
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

function errText(e) {
  if (e === undefined || e === null) return String(e);
  let s = (e.name ? e.name + ': ' : '') + (e.message !== undefined ? e.message : String(e));
  if (e.source !== undefined) s += ' (source ' + e.source + ')';
  if (e.streamErrorCode !== undefined && e.streamErrorCode !== null) s += ' (streamErrorCode ' + e.streamErrorCode + ')';
  return s.replace(/[\r\n]+/g, ' ');
}

function finish(ok, why) {
  if (finished) return;
  finished = true;
  log(ok ? 'result PASS' : 'result FAIL ' + current + ': ' + why);
}

function fail(why) {
  if (finished) return;
  log('step ' + current + ' fail ' + why);
  finish(false, why);
}

function withTimeout(p, msec, what) {
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(what + ' did not complete within ' + msec + ' ms')), msec);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

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
  // Several writes, so the stream sees more than one chunk.
  const CHUNK = 16 * 1024;
  for (let o = 0; o < data.length; o += CHUNK) {
    await writer.write(data.subarray(o, Math.min(o + CHUNK, data.length)));
    if (progress) progress.written = Math.min(o + CHUNK, data.length);
  }
  await writer.close();
  if (progress) progress.closed = true;
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

async function stepBidi(wt) {
  current = 'bidi';
  const data = pattern(BIDI_BYTES, 1);
  const stream = await wt.createBidirectionalStream();
  // Read while writing: the server echoes as it reads, so a reader that
  // starts late could leave both sides waiting on flow control.
  const progress = {written: 0, closed: false, read: 0, fin: false};
  const [echo] = await timed(Promise.all([readAll(stream.readable, progress), writeAll(stream.writable, data, progress)]),
                             STEP_TIMEOUT_MS, 'bidi echo of ' + data.length + ' bytes', progress, data.length);
  const diff = compare(echo, data);
  if (diff) throw new Error('bidi echo differs: ' + diff);
  log('step bidi ok ' + echo.length + ' bytes echoed ' + ms());
}

async function stepDatagram(wt) {
  current = 'datagram';
  const sent = [];
  for (let i = 0; i < DGRAM_COUNT; i++) {
    const d = pattern(DGRAM_BYTES, 100 + i);
    d[0] = 0xd6; // marker
    d[1] = i;    // sequence number, used to find what to compare with
    sent.push(d);
  }
  // Chromium keeps only incomingHighWaterMark unread datagrams (default 1)
  // and drops older ones: with the default, a burst of 5 echoes reaches JS
  // as 2-3 even though all 5 arrive (net-log: 5 MESSAGE_FRAME_RECEIVED).
  if ('incomingHighWaterMark' in wt.datagrams) wt.datagrams.incomingHighWaterMark = 4 * DGRAM_COUNT;
  const reader = wt.datagrams.readable.getReader();
  const writer = wt.datagrams.writable.getWriter();
  const maxSize = wt.datagrams.maxDatagramSize;
  const received = new Set();
  let rounds = 0;
  // Datagrams are unreliable: send the batch again every 500 ms until one
  // echo arrives (loopback should not lose any, so one round is normal).
  const deadline = performance.now() + STEP_TIMEOUT_MS;
  let pending = reader.read();
  pending.catch(() => {});
  while (received.size === 0) {
    if (performance.now() > deadline) {
      throw new Error('no datagram echo within ' + STEP_TIMEOUT_MS + ' ms (' + rounds + ' rounds of ' + DGRAM_COUNT +
                      ' datagrams sent, maxDatagramSize ' + maxSize + ')');
    }
    rounds++;
    for (const d of sent) await writer.write(d);
    const roundEnd = performance.now() + 500;
    for (;;) {
      const left = roundEnd - performance.now();
      if (left <= 0) break;
      let timer;
      const r = await Promise.race([pending, new Promise(res => { timer = setTimeout(() => res(null), left); })]);
      clearTimeout(timer);
      if (r === null) break;
      if (r.done) throw new Error('datagram readable ended');
      pending = reader.read();
      pending.catch(() => {});
      const got = r.value;
      const i = got.length > 1 ? got[1] : -1;
      if (got[0] !== 0xd6 || i < 0 || i >= DGRAM_COUNT) {
        throw new Error('unexpected datagram of ' + got.length + ' bytes, first bytes ' + Array.from(got.slice(0, 4)));
      }
      const diff = compare(got, sent[i]);
      if (diff) throw new Error('datagram ' + i + ' echo differs: ' + diff);
      received.add(i);
      // Give the rest of this round a moment to arrive too, then move on.
      if (received.size === DGRAM_COUNT) break;
    }
  }
  pending.catch(() => {});
  reader.releaseLock();
  writer.releaseLock();
  log('step datagram ok ' + received.size + '/' + DGRAM_COUNT + ' echoed after ' + rounds + ' round(s), maxDatagramSize ' +
      maxSize + ' ' + ms());
}

async function stepUni(wt) {
  current = 'uni';
  const data = pattern(UNI_BYTES, 2);
  const incoming = wt.incomingUnidirectionalStreams.getReader();
  const gotStream = incoming.read();
  gotStream.catch(() => {}); // awaited below; do not let an early rejection count as unhandled
  const progress = {written: 0, closed: false, read: 0, fin: false};
  const out = await wt.createUnidirectionalStream();
  await timed(writeAll(out, data, progress), STEP_TIMEOUT_MS, 'uni write of ' + data.length + ' bytes', progress, data.length);
  const r = await timed(gotStream, STEP_TIMEOUT_MS, 'server-opened uni stream', progress, data.length);
  if (r.done) throw new Error('incomingUnidirectionalStreams ended without a stream');
  const echo = await timed(readAll(r.value, progress), STEP_TIMEOUT_MS, 'reading the server uni stream', progress, data.length);
  incoming.releaseLock();
  const diff = compare(echo, data);
  if (diff) throw new Error('uni echo differs: ' + diff);
  log('step uni ok ' + echo.length + ' bytes echoed on a server uni stream ' + ms());
}

async function stepClose(wt, closedEarly) {
  current = 'close';
  closedEarly.expected = true;
  wt.close({closeCode: 7, reason: 'bye'});
  const info = await withTimeout(wt.closed, STEP_TIMEOUT_MS, 'transport.closed');
  log('step close ok closed resolved with closeCode ' + (info && info.closeCode) + ' reason ' +
      JSON.stringify(info && info.reason) + ' ' + ms());
}

async function main() {
  log('start ' + navigator.userAgent.replace(/[\r\n"]/g, ' '));
  if (!port || !hashB64) throw new Error('missing port or hash in the query string');
  if (typeof WebTransport === 'undefined') throw new Error('WebTransport is not available (secure context: ' + isSecureContext + ')');
  let hash;
  try {
    hash = Uint8Array.from(atob(hashB64), c => c.charCodeAt(0));
  } catch (e) {
    throw new Error('hash is not base64: ' + errText(e));
  }
  if (hash.length !== 32) throw new Error('hash has ' + hash.length + ' bytes, expected 32');

  current = 'ready';
  const url = 'https://' + host + ':' + port + path;
  const wt = new WebTransport(url, {serverCertificateHashes: [{algorithm: 'sha-256', value: hash}]});
  // A session that ends before the close step is a failure of whatever step
  // was running; remember it so that step reports why.
  const closedEarly = {expected: false};
  wt.closed.then(
    info => { if (!closedEarly.expected) fail('session closed early: closeCode ' + info.closeCode + ' reason ' + JSON.stringify(info.reason)); },
    e => { if (!closedEarly.expected && current !== 'ready') fail('session closed early: ' + errText(e)); });
  await withTimeout(wt.ready, STEP_TIMEOUT_MS, 'ready for ' + url);
  log('step ready ok ' + url + ' ' + ms());

  await stepBidi(wt);
  await stepDatagram(wt);
  await stepUni(wt);
  await stepClose(wt, closedEarly);
  finish(true);
}

window.addEventListener('error', ev => fail('uncaught error: ' + errText(ev.error || ev.message)));
window.addEventListener('unhandledrejection', ev => fail('unhandled rejection: ' + errText(ev.reason)));
setTimeout(() => fail('global timeout: step ' + current + ' still running after ' + GLOBAL_TIMEOUT_MS + ' ms'),
           GLOBAL_TIMEOUT_MS);
main().catch(e => fail(errText(e)));
