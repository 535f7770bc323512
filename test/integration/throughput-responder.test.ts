// The throughput responder's safety on real sockets (127.0.0.1): a
// connection that does not prove the key gets the challenge and nothing
// else; a second test while one runs gets `busy` at once; a longer test
// than --throughput-max-duration is cut to it. The udp peer responder on the
// same port number answers the test's latency probes, idle and under load.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { after, afterEach, before, describe, it } from 'node:test';
import { runThroughputTest } from '../../lib/throughput/client.js';
import { CHALLENGE_BYTES, REQUEST_BYTES } from '../../lib/throughput/protocol.js';
import { ThroughputResponder } from '../../lib/throughput/responder.js';
import { PeerResponder } from '../../lib/probes/udp/responder.js';
import { LatencyProbes } from '../../lib/throughput/latency-probes.js';

const KEY = Buffer.from('integration-peer-key-0123');

/** Every byte a connection gets after sending `send`, until the responder closes it (at most 6 s). */
function bytesFor(port: number, send: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const s = connect({ host: '127.0.0.1', port }, () => s.write(send));
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('the responder kept the connection open'));
    }, 6000);
    s.on('data', (d: Buffer) => (got += d.length));
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(got);
    });
  });
}

describe('throughput responder safety', () => {
  let responder: ThroughputResponder;
  let peer: PeerResponder;

  before(async () => {
    responder = await ThroughputResponder.start({
      key: KEY,
      listen: { host: '127.0.0.1', port: 0 },
      maxDurationMs: 1000,
      maxBytes: 1e12, // no cap on loopback's speed here; the policy's unit test covers caps
      log: () => {},
    });
    peer = await PeerResponder.start({
      key: KEY,
      listen: { host: '127.0.0.1', port: responder.port },
      maxRatePerS: 1000,
    });
  });

  after(() => Promise.all([responder.close(), peer.close()]));

  it('sends an unauthenticated connection its challenge and nothing more', async () => {
    assert.equal(
      await bytesFor(responder.port, Buffer.alloc(REQUEST_BYTES, 0x41)),
      CHALLENGE_BYTES,
    );
    assert.equal(
      await bytesFor(responder.port, Buffer.from('GET / HTTP/1.0\r\n\r\n'.repeat(5))),
      CHALLENGE_BYTES,
    );
    // Random bytes, a megabyte of them, and a request of our form with a forged MAC.
    assert.equal(await bytesFor(responder.port, randomBytes(REQUEST_BYTES)), CHALLENGE_BYTES);
    assert.equal(await bytesFor(responder.port, randomBytes(1024 * 1024)), CHALLENGE_BYTES);
    const forged = Buffer.concat([Buffer.from('NPT1'), randomBytes(REQUEST_BYTES - 4)]);
    forged[36] = 1; // a download
    assert.equal(await bytesFor(responder.port, forged), CHALLENGE_BYTES);
    const wrong = await runThroughputTest({
      host: '127.0.0.1',
      port: responder.port,
      key: Buffer.from('not-the-peer-key-at-all'),
      durationMs: 1000,
    });
    assert.equal(wrong.outcome, 'refused');
    assert.ok(!responder.busy);
  });

  it('answers a second test busy at once, caps the duration', async () => {
    const first = runThroughputTest({
      host: '127.0.0.1',
      port: responder.port,
      key: KEY,
      durationMs: 3000, // more than the responder's 1 s
      idleMs: 300,
    });
    await new Promise((r) => setTimeout(r, 150));
    const started = Date.now();
    const second = await runThroughputTest({
      host: '127.0.0.1',
      port: responder.port,
      key: KEY,
      durationMs: 1000,
    });
    assert.equal(second.outcome, 'busy');
    assert.ok(Date.now() - started < 1000, `busy took ${Date.now() - started} ms`);
    const r = await first;
    assert.equal(r.outcome, 'ok', r.detail);
    assert.equal(r.grantedMs, 1000);
    assert.ok(r.upload!.measured.micros <= 1.2e6, `upload window ${r.upload!.measured.micros} µs`);
    // udp probes at 10 a second: ~3 in the 300 ms idle, ~10 in each 1 s measured direction.
    assert.ok(r.idleRttsMs.length >= 2, `idle RTTs ${r.idleRttsMs.length}`);
    for (const d of [r.download!, r.upload!])
      assert.ok(d.rttsMs.length >= 5, `RTTs under load ${d.rttsMs.length}`);
    assert.equal(r.probesLost, 0);
    const samples = r.idleRttsMs.length + r.download!.rttsMs.length + r.upload!.rttsMs.length;
    // Those sent in a warm-up or the gap are answered too, but not samples.
    assert.ok(peer.answered >= samples, `answered ${peer.answered}, samples ${samples}`);
    // The server sees the echo's close a moment after the client's end.
    for (let i = 0; i < 50 && responder.busy; i++) await new Promise((res) => setTimeout(res, 20));
    assert.ok(!responder.busy, 'the slot is free after the test');
  });

  it('counts latency probes nobody answers as lost, and only those sent in a phase', async () => {
    const wrongKey = await LatencyProbes.open({
      host: '127.0.0.1',
      port: peer.address().port,
      key: Buffer.from('not-the-peer-key-at-all'),
      everyMs: 50,
      timeoutMs: 200,
    });
    await new Promise((r) => setTimeout(r, 120)); // unphased probes: not counted
    wrongKey.begin('idle');
    await new Promise((r) => setTimeout(r, 300));
    await wrongKey.settle();
    wrongKey.close();
    assert.equal(wrongKey.samples.idle.length, 0);
    assert.ok(wrongKey.lost >= 4 && wrongKey.lost <= 8, `lost ${wrongKey.lost}`);
  });
});

/** Opens a connection from `localAddress` that sends nothing; resolves once the challenge came. */
function idleConnection(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no challenge for ${localAddress}`));
    }, 3000);
    s.on('error', () => {});
    s.once('data', () => {
      clearTimeout(timer);
      resolve(s);
    });
    s.once('close', () => {
      clearTimeout(timer);
      reject(new Error(`closed before the challenge: ${localAddress}`));
    });
  });
}

/** Milliseconds until the responder closes a connection that does `act` after the challenge (at most 7 s). */
function closedAfterMs(port: number, act: (s: Socket) => void): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port });
    let at = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('the responder kept the connection open'));
    }, 7000);
    s.on('error', () => {});
    s.once('data', () => {
      at = Date.now();
      act(s);
    });
    s.on('close', () => {
      clearTimeout(timer);
      if (at === 0) reject(new Error('closed before the challenge'));
      else resolve(Date.now() - at);
    });
  });
}

describe('throughput responder under idle connections', () => {
  let responder: ThroughputResponder;
  let peer: PeerResponder;
  const held: Socket[] = [];

  before(async () => {
    responder = await ThroughputResponder.start({
      key: KEY,
      listen: { host: '127.0.0.1', port: 0 },
      maxDurationMs: 1000,
      maxBytes: 1e12,
      log: () => {},
    });
    peer = await PeerResponder.start({
      key: KEY,
      listen: { host: '127.0.0.1', port: responder.port },
      maxRatePerS: 1000,
    });
  });

  afterEach(async () => {
    for (const s of held.splice(0)) s.destroy();
    // The responder sees the closes a moment later.
    await new Promise((r) => setTimeout(r, 100));
  });

  after(() => Promise.all([responder.close(), peer.close()]));

  const keyedTest = () =>
    runThroughputTest({
      host: '127.0.0.1',
      port: responder.port,
      key: KEY,
      durationMs: 1000,
      idleMs: 200,
    });

  it('64 idle connections from one source do not block a keyed test from another', async () => {
    const opened = await Promise.allSettled(
      Array.from({ length: 64 }, () => idleConnection(responder.port, '127.0.5.1')),
    );
    for (const o of opened) if (o.status === 'fulfilled') held.push(o.value);
    const kept = held.length;
    const r = await keyedTest();
    assert.equal(r.outcome, 'ok', r.detail);
    // The source's cap: most were closed before their challenge.
    assert.ok(kept <= 8, `${kept} idle connections from one source were kept`);
  });

  it('closes an idle connection after about a second, and at once on its FIN', async () => {
    const idle = await closedAfterMs(responder.port, () => {});
    assert.ok(idle >= 500 && idle < 3000, `an idle connection was closed after ${idle} ms`);
    const fin = await closedAfterMs(responder.port, (s) => s.end());
    assert.ok(fin < 500, `a connection that sent FIN was closed after ${fin} ms`);
  });

  it('frees the slots of connections that sent FIN', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 64 }, (_, i) => idleConnection(responder.port, `127.0.6.${i + 1}`)),
    );
    for (const s of sockets) s.end();
    held.push(...sockets);
    await new Promise((r) => setTimeout(r, 200));
    const r = await keyedTest();
    assert.equal(r.outcome, 'ok', r.detail);
  });

  it('says "no challenge", not "wrong peer key", when every slot is taken', async () => {
    held.push(
      ...(await Promise.all(
        Array.from({ length: 64 }, (_, i) => idleConnection(responder.port, `127.0.7.${i + 1}`)),
      )),
    );
    const r = await keyedTest();
    assert.equal(r.outcome, 'no-challenge', r.detail);
    assert.doesNotMatch(r.detail ?? '', /key/);
  });
});
