// The throughput responder's safety on real sockets (127.0.0.1): a
// connection that does not prove the key gets the challenge and nothing
// else; a second test while one runs gets `busy` at once; a longer test
// than --throughput-max-duration is cut to it.

import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { runThroughputTest } from '../../lib/throughput/client.js';
import { CHALLENGE_BYTES, REQUEST_BYTES } from '../../lib/throughput/protocol.js';
import { ThroughputResponder } from '../../lib/throughput/responder.js';

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

  before(async () => {
    responder = await ThroughputResponder.start({
      key: KEY,
      listen: { host: '127.0.0.1', port: 0 },
      maxDurationMs: 1000,
      maxBytes: 1e12, // no cap on loopback's speed here; the policy's unit test covers caps
      log: () => {},
    });
  });

  after(() => responder.close());

  it('sends an unauthenticated connection its challenge and nothing more', async () => {
    assert.equal(
      await bytesFor(responder.port, Buffer.alloc(REQUEST_BYTES, 0x41)),
      CHALLENGE_BYTES,
    );
    assert.equal(
      await bytesFor(responder.port, Buffer.from('GET / HTTP/1.0\r\n\r\n'.repeat(5))),
      CHALLENGE_BYTES,
    );
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
    // The server sees the echo's close a moment after the client's end.
    for (let i = 0; i < 50 && responder.busy; i++) await new Promise((res) => setTimeout(res, 20));
    assert.ok(!responder.busy, 'the slot is free after the test');
  });
});
