// demo.js: the wt-server demo page. It reads the session's address and
// certificate hash from /config.json (served by the same wt-server), opens
// the session and drives the echo, datagram and throughput panels.
// With ?autotest=1 it runs each panel once by itself and reports on the
// console with lines starting "DEMO " (used by tests/browser/run_demo_test.py).
'use strict';

const $ = id => document.getElementById(id);
const enc = new TextEncoder();
const dec = new TextDecoder();
const autotest = new URLSearchParams(location.search).get('autotest') === '1';
let wt = null;

function report(line) {
  console.log('DEMO ' + line);
}

function setStatus(text, ok) {
  $('status').textContent = text;
  $('status').className = ok ? 'ok' : 'bad';
}

function append(id, line) {
  const pre = $(id);
  pre.textContent += line + '\n';
  pre.scrollTop = pre.scrollHeight;
}

// Reads a stream to its end, counting bytes as they come (for the bar).
async function countAll(readable, onBytes) {
  const reader = readable.getReader();
  let total = 0;
  for (;;) {
    const {value, done} = await reader.read();
    if (done) return total;
    total += value.length;
    onBytes(total);
  }
}

async function echo(text) {
  const t = performance.now();
  const stream = await wt.createBidirectionalStream();
  const writer = stream.writable.getWriter();
  const reading = new Response(stream.readable).arrayBuffer();
  await writer.write(enc.encode(text));
  await writer.close();
  const back = dec.decode(await reading);
  const ms = (performance.now() - t).toFixed(1);
  append('echo-log', 'sent "' + text + '", echoed "' + back + '" in ' + ms + ' ms');
  return back;
}

// Each datagram carries its sequence number; the echo's arrival time minus
// the send time is its round trip.
async function ping(count) {
  const reader = wt.datagrams.readable.getReader();
  const writer = wt.datagrams.writable.getWriter();
  const sentAt = new Map();
  const rtts = [];
  const deadline = performance.now() + 3000;
  // One read stays pending across timeouts, so no echo is read and lost.
  let pending = reader.read();
  for (let i = 0; i < count; i++) {
    const d = new Uint8Array(32);
    new DataView(d.buffer).setUint32(0, i);
    sentAt.set(i, performance.now());
    await writer.write(d);
    // One at a time, so each round trip is measured on a quiet path.
    while (performance.now() < deadline) {
      const r = await Promise.race([pending, new Promise(res => setTimeout(() => res(null), 500))]);
      if (!r || r.done) break;
      pending = reader.read();
      const seq = new DataView(r.value.buffer, r.value.byteOffset).getUint32(0);
      if (!sentAt.has(seq)) continue;
      const rtt = performance.now() - sentAt.get(seq);
      sentAt.delete(seq);
      rtts.push(rtt);
      append('rtt-log', 'datagram ' + seq + ': ' + rtt.toFixed(2) + ' ms');
      if (seq === i) break;
    }
  }
  pending.catch(() => {});
  reader.releaseLock(); // rejects the pending read
  writer.releaseLock();
  const sorted = rtts.slice().sort((a, b) => a - b);
  const med = sorted.length ? sorted[Math.floor(sorted.length / 2)] : NaN;
  $('rtt-summary').textContent = rtts.length + '/' + count + ' echoed, median ' + med.toFixed(2) + ' ms, min ' +
      (sorted[0] || NaN).toFixed(2) + ' ms, max ' + (sorted[sorted.length - 1] || NaN).toFixed(2) + ' ms';
  return {echoed: rtts.length, median: med};
}

async function throughput(mib) {
  const total = mib * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i * 7;
  $('progress').max = total;
  $('progress').value = 0;
  $('tput').textContent = '';
  const t = performance.now();
  const stream = await wt.createBidirectionalStream();
  const reading = countAll(stream.readable, n => { $('progress').value = n; });
  const writer = stream.writable.getWriter();
  for (let o = 0; o < total; o += chunk.length) await writer.write(chunk);
  await writer.close();
  const got = await reading;
  const secs = (performance.now() - t) / 1000;
  const mbps = got * 8 / secs / 1e6;
  $('tput').textContent = (got / 1048576).toFixed(0) + ' MiB echoed in ' + secs.toFixed(2) + ' s: ' +
      mbps.toFixed(0) + ' Mbit/s each way';
  return {bytes: got, mbps: mbps};
}

function guard(fn) {
  return async ev => {
    if (ev) ev.preventDefault();
    try {
      await fn();
    } catch (e) {
      setStatus('error: ' + e.message, false);
    }
  };
}

async function connect() {
  const cfg = await (await fetch('/config.json', {cache: 'no-store'})).json();
  const hash = Uint8Array.from(atob(cfg.hash), c => c.charCodeAt(0));
  // The same host name as this page: wt-server accepts a page whose origin
  // has the session's host.
  const url = 'https://' + location.hostname + ':' + cfg.port + cfg.path;
  wt = new WebTransport(url, {serverCertificateHashes: [{algorithm: 'sha-256', value: hash}]});
  wt.closed.then(i => setStatus('closed (code ' + i.closeCode + ')', false),
                 e => setStatus('closed: ' + e.message, false));
  await wt.ready;
  setStatus('ready', true);
  $('session').textContent = url + ', maxDatagramSize ' + wt.datagrams.maxDatagramSize;
}

async function runAutotest() {
  const msg = 'hello from the demo test';
  const back = await echo(msg);
  report(back === msg ? 'echo ok ' + back : 'echo FAIL got ' + JSON.stringify(back));
  const p = await ping(10);
  report('ping ' + p.echoed + '/10 median ' + p.median.toFixed(2) + ' ms');
  const tp = await throughput(10);
  report('throughput ' + tp.bytes + ' bytes ' + tp.mbps.toFixed(0) + ' Mbit/s');
  report('done');
}

$('echo-form').addEventListener('submit', guard(() => echo($('message').value)));
$('ping').addEventListener('click', guard(() => ping(10)));
$('run').addEventListener('click', guard(() => throughput(Number($('size').value))));
connect().then(() => autotest ? runAutotest() : null).catch(e => {
  setStatus('failed: ' + e.message, false);
  report('FAIL ' + e.message);
});
