// baton.js: the client side of Devious Baton
// (draft-frindell-webtrans-devious-baton-00) in a browser, against wt-server's
// /webtransport/devious-baton (tools/baton_session.c plays the server side).
//
// The server opens one uni stream per baton; every message is
// { padding length (varint), padding, baton (1 byte) } followed by a FIN, and
// is answered with the value + 1 (mod 256):
//   arrived on a uni stream          -> reply on a new bidi stream
//   arrived on a server bidi stream  -> reply on that stream
//   arrived on our own bidi stream   -> reply on a new uni stream
// A 0 ends a baton (received, or sent after 255). A client that receives a
// value = 1 (mod 7) also sends it as a datagram. Once every baton has ended,
// the server closes the session.
//
// Report lines (console.log and POST /wtlog), as in echo.js:
//   WTTEST start <userAgent>
//   WTTEST step ready|batons|datagrams|close ok|fail <details>
//   WTTEST result PASS | WTTEST result FAIL <step>: <why>
'use strict';

const TIMEOUT_MS = 30000;
const params = new URLSearchParams(location.search);
const port = params.get('port');
const hashB64 = params.get('hash');
const path = params.get('path') || '/webtransport/devious-baton';
const count = parseInt(params.get('count') || '1', 10);
const batonStart = params.get('baton');

let current = 'init';
let finished = false;
let logChain = Promise.resolve();
const t0 = performance.now();

function log(text) {
  const line = 'WTTEST ' + text;
  console.log(line);
  document.getElementById('out').textContent += line + '\n';
  logChain = logChain.then(() => fetch('/wtlog', {method: 'POST', body: line, cache: 'no-store'})).catch(() => {});
}

function errText(e) {
  return String(e && e.name ? e.name + ': ' + e.message : e).replace(/[\r\n]+/g, ' ');
}

function step(name, detail) {
  current = name;
  log('step ' + name + ' ok ' + detail);
}

function finish(ok, why) {
  if (finished) return;
  finished = true;
  if (!ok) log('step ' + current + ' fail ' + why);
  log(ok ? 'result PASS' : 'result FAIL ' + current + ': ' + why);
}

// ---- messages ------------------------------------------------------------

function encode(value) {
  return new Uint8Array([0, value]); // no padding: a 1-byte varint 0, then the baton
}

// Parses a whole message; throws on a malformed one (the draft's BRUH).
function decode(bytes) {
  if (bytes.length < 2) throw new Error('malformed baton message (' + bytes.length + ' bytes)');
  const lenBytes = 1 << (bytes[0] >> 6);
  let pad = bytes[0] & 0x3f;
  for (let i = 1; i < lenBytes; i++) pad = pad * 256 + bytes[i];
  if (bytes.length !== lenBytes + pad + 1) throw new Error('malformed baton message (length ' + bytes.length + ')');
  return bytes[bytes.length - 1];
}

async function readAll(readable) {
  const reader = readable.getReader();
  const parts = [];
  let n = 0;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    parts.push(value);
    n += value.length;
  }
  const all = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    all.set(p, off);
    off += p.length;
  }
  return all;
}

// Sends one message and FINs. A 0 ends the baton as soon as it is written:
// the server may then close the session before our FIN is acknowledged,
// which rejects close() - harmless once every baton is over.
async function sendMessage(writable, value) {
  const w = writable.getWriter();
  await w.write(encode(value));
  sent++;
  if (value === 0) batonEnded();
  await w.close().catch(e => {
    if (active !== 0) throw e;
  });
}

// ---- the game ------------------------------------------------------------

let wt, dgramWriter; // one writer: batons run concurrently
let active = count;
let received = 0, sent = 0, dgramsSent = 0, dgramsReceived = 0;
let allDone;
const allDonePromise = new Promise(r => (allDone = r));

function batonEnded() {
  active--;
  if (active === 0) allDone();
}

async function onMessage(value) {
  received++;
  if (value % 7 === 1) {
    await dgramWriter.write(encode(value));
    dgramsSent++;
  }
  if (value === 0) batonEnded();
}

// A message on a server uni stream: reply on a new bidi stream, then read
// the server's reply there and answer it on a new uni stream.
async function onUni(stream) {
  const v = decode(await readAll(stream));
  await onMessage(v);
  if (v === 0) return;
  const reply = (v + 1) & 255;
  const bidi = await wt.createBidirectionalStream();
  await sendMessage(bidi.writable, reply);
  if (reply === 0) { // we ended the baton: only a bare FIN comes back, unless the session ends first
    const rest = await readAll(bidi.readable).catch(e => {
      if (active !== 0) throw e;
      return new Uint8Array(0);
    });
    if (rest.length) throw new Error('data after a 0 baton');
    return;
  }
  const w = decode(await readAll(bidi.readable));
  if (w !== ((reply + 1) & 255)) throw new Error('unexpected baton ' + w + ' after ' + reply + ' (SUS)');
  await onMessage(w);
  if (w === 0) return;
  const uni = await wt.createUnidirectionalStream();
  await sendMessage(uni, (w + 1) & 255);
}

// A message on a server bidi stream: reply on it (or just FIN after a 0).
async function onBidi(stream) {
  const v = decode(await readAll(stream.readable));
  await onMessage(v);
  if (v === 0) {
    await stream.writable.getWriter().close().catch(e => {
      if (active !== 0) throw e;
    });
    return;
  }
  await sendMessage(stream.writable, (v + 1) & 255);
}

function failOn(p) {
  p.catch(e => finish(false, errText(e)));
}

async function acceptLoop(readable, handler) {
  const reader = readable.getReader();
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    failOn(handler(value));
  }
}

async function datagramLoop() {
  const reader = wt.datagrams.readable.getReader();
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return;
    decode(value);
    dgramsReceived++;
  }
}

async function main() {
  log('start ' + navigator.userAgent);
  const hash = Uint8Array.from(atob(hashB64), c => c.charCodeAt(0));
  let query = 'count=' + count + (batonStart ? '&baton=' + batonStart : '');
  const url = 'https://localhost:' + port + path + '?' + query;
  current = 'ready';
  wt = new WebTransport(url, {
    serverCertificateHashes: [{algorithm: 'sha-256', value: hash}],
    protocols: ['devious-baton-00'],
  });
  await wt.ready;
  step('ready', url + ' protocol ' + wt.protocol + ' in ' + Math.round(performance.now() - t0) + ' ms');
  current = 'batons';
  dgramWriter = wt.datagrams.writable.getWriter();
  failOn(acceptLoop(wt.incomingUnidirectionalStreams, onUni));
  failOn(acceptLoop(wt.incomingBidirectionalStreams, onBidi));
  datagramLoop().catch(() => {}); // ends with the session
  await allDonePromise;
  step('batons', 'all ' + count + ' batons finished: ' + received + ' messages received, ' + sent + ' sent');
  current = 'datagrams';
  // From 251 every baton brings us 253 (= 1 mod 7): one datagram each.
  if (batonStart === '251' && dgramsSent !== count)
    throw new Error(dgramsSent + ' datagrams sent, expected ' + count + ' (one per baton for 253)');
  step('datagrams', dgramsSent + ' sent, ' + dgramsReceived + ' received');
  current = 'close';
  // The server closes the session once every baton ended (draft §4.5).
  const info = await wt.closed;
  if (info.closeCode !== 0) throw new Error('closed with code ' + info.closeCode + ' reason ' + info.reason);
  step('close', 'the server closed the session cleanly (code 0)');
  finish(true);
}

setTimeout(() => finish(false, 'no result within ' + TIMEOUT_MS + ' ms (active batons ' + active + ')'), TIMEOUT_MS);
main().catch(e => finish(false, errText(e)));
