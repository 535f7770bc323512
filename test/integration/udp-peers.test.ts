// udp probes between real netpingd on loopback: a peer with the same key
// answers every probe; one with another key answers none and counts them as
// peer:bad-mac; a daemon without a key loses its udp probes as
// send:no-peer-key. Bad packets sent at a peer are counted in its /metrics.

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import type { DaemonReport, TargetReport } from '../../lib/report.js';
import { encodeUdpPacket, PacketType } from '../../lib/probes/udp/packet.js';
import { IS_ROOT, SKIP_NO_REDIS, TEST_REDIS_URL, uniquePrefix } from '../support/env.js';
import { freePort, httpText, redisDeletePrefix, sampleSum } from '../support/ops-harness.js';
import { DAEMON_JS } from '../support/env.js';
import { loadNativeSockets } from '../../lib/probes/icmp/native-sockets.js';
import { eventually, runNode, startDaemon, type RunningDaemon } from '../support/processes.js';

const KEY = 'udp-peers-test-key-0123456789';
const WRONG_KEY = 'udp-peers-WRONG-key-987654321';

async function target(d: RunningDaemon, name: string): Promise<TargetReport | undefined> {
  const r = (await (await fetch(`${d.baseUrl}/api/targets`)).json()) as DaemonReport;
  return r.targets.find((t) => t.name === name);
}

/**
 * A relay without the key at `address`: forwards every datagram to
 * `upstream` and each reply back to the last sender, as a NAT or a
 * man in the middle would.
 */
async function keylessRelay(address: string, upstream: { address: string; port: number }) {
  const front = dgram.createSocket('udp4');
  const back = dgram.createSocket('udp4');
  await Promise.all([
    new Promise<void>((r) => front.bind(0, address, r)),
    new Promise<void>((r) => back.bind(0, address, r)),
  ]);
  let client: { address: string; port: number } | undefined;
  const relay = { port: front.address().port, forwarded: 0, close: () => {} };
  front.on('message', (m, rinfo) => {
    client = { address: rinfo.address, port: rinfo.port };
    relay.forwarded++;
    back.send(m, upstream.port, upstream.address);
  });
  back.on('message', (m) => {
    if (client) front.send(m, client.port, client.address);
  });
  relay.close = () => {
    front.close();
    back.close();
  };
  return relay;
}

/** A version-1 probe (48 bytes, MAC over the first 32) with the fields of `v2`. */
function versionOne(v2: Buffer, key: Buffer): Buffer {
  const v1 = Buffer.from(v2.subarray(0, 48));
  v1[2] = 1;
  createHmac('sha256', key).update(v1.subarray(0, 32)).digest().copy(v1, 32, 0, 16);
  return v1;
}

/** The target's report once it has lost `n` probes (8 s at most). */
function lostAtLeast(d: RunningDaemon, name: string, n: number): Promise<TargetReport> {
  return eventually(
    `${n} lost udp probes of ${name}`,
    async () => {
      const r = await target(d, name);
      return r && r.lost >= n ? r : undefined;
    },
    8_000,
  );
}

// netpingd opens its raw ICMP sockets at start, whatever its targets.
const skip = SKIP_NO_REDIS || (!IS_ROOT && 'netpingd needs root for its ICMP sockets');

describe('udp probes between netpingd peers', { skip }, () => {
  const prefixes = { b: uniquePrefix(), a: uniquePrefix(), c: uniquePrefix(), d: uniquePrefix() };
  const daemons: RunningDaemon[] = [];
  let redis: Redis;
  let peerPort: number;
  let b: RunningDaemon;
  let a: RunningDaemon;
  let c: RunningDaemon;
  let d: RunningDaemon;
  let relay: Awaited<ReturnType<typeof keylessRelay>>;

  const start = async (prefix: string, args: string[], env: NodeJS.ProcessEnv = {}) => {
    const daemon = await startDaemon(
      ['--redis', TEST_REDIS_URL!, '--prefix', prefix, '--interval', '100ms', ...args],
      env,
    );
    daemons.push(daemon);
    return daemon;
  };

  before(async () => {
    redis = new Redis(TEST_REDIS_URL!);
    peerPort = await freePort(); // a TCP port free a moment ago: likely free for UDP too
    const member = `b@127.0.0.1?probe=udp&port=${peerPort}`;
    for (const p of [prefixes.a, prefixes.c, prefixes.d])
      await redis.sadd(`{${p}}:targets`, member);
    relay = await keylessRelay('127.0.0.3', { address: '127.0.0.1', port: peerPort });
    await redis.sadd(`{${prefixes.a}}:targets`, `relayed@127.0.0.3?probe=udp&port=${relay.port}`);
    // The peer with the key, answering on loopback only; the key from the environment.
    b = await start(prefixes.b, ['--peer-listen', `127.0.0.1:${peerPort}`], {
      NETPING_PEER_KEY: KEY,
    });
    const ownListen = async () => ['--peer-listen', `127.0.0.1:${await freePort()}`];
    [a, c, d] = await Promise.all([
      start(prefixes.a, ['--peer-key', KEY, '--timeout', '500ms', ...(await ownListen())]),
      // On node's dgram (the variable), the others on the addon's sockets where it built.
      start(prefixes.c, ['--peer-key', WRONG_KEY, '--timeout', '200ms', ...(await ownListen())], {
        NETPING_UDP_TRANSPORT: 'dgram',
      }),
      start(prefixes.d, ['--timeout', '200ms']),
    ]);
  });

  after(async () => {
    relay?.close();
    const codes = await Promise.all(daemons.map((x) => x.stop()));
    for (const p of Object.values(prefixes)) redisDeletePrefix(TEST_REDIS_URL!, p);
    redis?.disconnect();
    codes.forEach((code, i) =>
      assert.equal(code, 0, `netpingd ${i} should exit 0; log:\n${daemons[i]?.log()}`),
    );
  });

  it('says where it answers peers', () => {
    assert.match(
      b.log(),
      new RegExp(`answering udp probes of peers on 127\\.0\\.0\\.1:${peerPort}`),
    );
    assert.doesNotMatch(d.log(), /answering udp probes/, 'no key: no responder');
  });

  it('says which udp socket layer and clock it uses: the addon by default, dgram when told', async () => {
    const transports = async (x: RunningDaemon) => {
      const m = await httpText(`${x.baseUrl}/metrics`);
      return ['native', 'dgram'].filter(
        (t) =>
          sampleSum(m, 'netping_udp_transport_info', {
            transport: t,
            clock: t === 'native' ? 'kernel' : 'user-space',
          }) === 1,
      );
    };
    const native = loadNativeSockets().ok;
    assert.deepEqual(await transports(a), [native ? 'native' : 'dgram']);
    assert.match(
      a.log(),
      native ? /udp: the addon's sockets, kernel timestamps/ : /udp: node dgram/,
    );
    assert.deepEqual(await transports(c), ['dgram']);
    assert.match(c.log(), /udp: node dgram sockets, user-space timestamps/);
    assert.match(b.log(), native ? /answering udp probes of peers on .* \(native\)/ : /\(dgram\)/);
    assert.deepEqual(await transports(d), [], 'no key: no udp sockets');
  });

  it('a peer with the same key answers every probe', async (ctx) => {
    const t = await eventually(
      'udp answers from the peer',
      async () => {
        const r = await target(a, 'b');
        return r && r.received >= 10 ? r : undefined;
      },
      8_000,
    );
    ctx.diagnostic(JSON.stringify(t));
    assert.equal(t.lost, 0, JSON.stringify(t));
    assert.ok(t.minMs! > 0 && t.minMs! < 50, `loopback udp RTT ${t.minMs} ms`);
    assert.deepEqual(t.errors, {});
  });

  it('a key-less relay in front of the peer does not make its own address answer', async () => {
    const t = await lostAtLeast(a, 'relayed', 5);
    assert.ok(relay.forwarded > 0, 'the relay forwarded nothing');
    assert.equal(t.received, 0, JSON.stringify(t));
    const metrics = await httpText(`${b.baseUrl}/metrics`);
    const refused =
      sampleSum(metrics, 'netping_packets_ignored_total', { reason: 'peer:not-our-address' }) ?? 0;
    assert.ok(refused >= t.lost, `peer:not-our-address ${refused} < ${t.lost} lost`);
  });

  it('with another key every probe is lost, and the peer counts peer:bad-mac', async () => {
    const t = await lostAtLeast(c, 'b', 10);
    assert.equal(t.received, 0, JSON.stringify(t));
    assert.equal(t.sent, t.lost + t.inFlight);
    const metrics = await httpText(`${b.baseUrl}/metrics`);
    const badMac =
      sampleSum(metrics, 'netping_packets_ignored_total', { reason: 'peer:bad-mac' }) ?? 0;
    // Every probe c sent so far reached b (loopback) and was refused.
    assert.ok(badMac >= t.lost, `peer:bad-mac ${badMac} < ${t.lost} lost`);
  });

  it('without a key udp probes are lost as send:no-peer-key', async () => {
    const t = await eventually('failed udp sends', async () => {
      const r = await target(d, 'b');
      return r && r.lost >= 3 ? r : undefined;
    });
    assert.equal(t.received, 0);
    assert.equal(t.errors['send:no-peer-key'], t.lost);
  });

  it('bad packets at a peer are refused and counted in its /metrics by reason', async () => {
    const socket = dgram.createSocket('udp4');
    const answers: Buffer[] = [];
    socket.on('message', (m) => answers.push(m));
    const fields = {
      token: 1,
      seq: 0,
      sentAtWallMs: Date.now(),
      nonceHi: 3,
      nonceLo: 4,
      toAddress: '127.0.0.1',
      toPort: peerPort,
    };
    const valid = encodeUdpPacket(PacketType.probe, fields, Buffer.from(KEY));
    const packets: [string, Buffer][] = [
      ['peer:truncated', valid.subarray(0, 47)],
      ['peer:oversized', Buffer.concat([valid, Buffer.alloc(100)])],
      ['peer:bad-mac', encodeUdpPacket(PacketType.probe, fields, Buffer.from(WRONG_KEY))],
      [
        'peer:stale',
        encodeUdpPacket(PacketType.probe, { ...fields, seq: 1, sentAtWallMs: 1 }, Buffer.from(KEY)),
      ],
      // A netpingd of the version before the destination: 48 bytes, version 1, its MAC.
      ['peer:version', versionOne(valid, Buffer.from(KEY))],
    ];
    const read = async () => httpText(`${b.baseUrl}/metrics`);
    const count = (m: string, reason: string) =>
      sampleSum(m, 'netping_packets_ignored_total', { reason }) ?? 0;
    try {
      const before = await read();
      for (const [, p] of packets) socket.send(p, peerPort, '127.0.0.1');
      // Sent twice: the second is a replay.
      socket.send(valid, peerPort, '127.0.0.1');
      socket.send(valid, peerPort, '127.0.0.1');
      const after = await eventually('the counts', async () => {
        const m = await read();
        return count(m, 'peer:replay') > count(before, 'peer:replay') ? m : undefined;
      });
      for (const [reason] of packets) {
        const added = count(after, reason) - count(before, reason);
        // bad-mac also grows with c's probes; the rest only with ours.
        if (reason === 'peer:bad-mac') assert.ok(added >= 1, reason);
        else assert.equal(added, 1, reason);
      }
      assert.equal(count(after, 'peer:replay') - count(before, 'peer:replay'), 1);
      await eventually('the answer to the first valid probe', () =>
        Promise.resolve(answers.length > 0 ? true : undefined),
      );
      assert.equal(answers.length, 1, 'only the first valid probe was answered');
    } finally {
      socket.close();
    }
  });

  it('a peer address it cannot bind is one line and exit code 5', async () => {
    const stateDir = mkdtempSync(path.join(tmpdir(), 'netping-udp-bind-'));
    const taken = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => taken.bind(0, '127.0.0.1', resolve));
    try {
      const port = taken.address().port;
      const r = await runNode(
        DAEMON_JS,
        ['--listen', '127.0.0.1:0', '--peer-listen', `127.0.0.1:${port}`],
        { NETPING_PEER_KEY: KEY, NETPING_STATE_DIR: stateDir },
        10_000,
      );
      assert.equal(r.code, 5, r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`cannot answer peers on udp 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`),
      );
      // Beside the start lines that name the icmp and udp transports, the failure is one line.
      const lines = r.stderr
        .trim()
        .split('\n')
        .filter((l) => !/^netpingd: (icmp|udp): /.test(l));
      assert.equal(lines.length, 1, r.stderr);
    } finally {
      taken.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  });
});
