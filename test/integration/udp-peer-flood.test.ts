// The peer responder under a flood, on real loopback sockets: datagrams of
// our form with forged MACs from another address, far beyond the check
// budget (--peer-max-checks), are dropped before their MAC as peer:budget,
// while a prober that proved the key before the flood is still answered.
// Junk of every shape is refused and counted, and answered with nothing.

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import type dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { encodeUdpPacket, PacketType } from '../../lib/probes/udp/packet.js';
import { udpSocket } from '../../lib/probes/udp/prober.js';
import { PeerResponder } from '../../lib/probes/udp/responder.js';
import { LatencyProbes } from '../../lib/throughput/latency-probes.js';

const KEY = Buffer.from('udp-peer-flood-test-key-0123');
const BUDGET = 200;
const FLOOD = 5000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('peer responder under a flood', () => {
  let responder: PeerResponder;
  let port: number;
  let flooder: dgram.Socket;
  const flooderGot: Buffer[] = [];

  before(async () => {
    responder = await PeerResponder.start({
      key: KEY,
      listen: { host: '127.0.0.1', port: 0 },
      maxRatePerS: 1000,
      maxChecksPerS: BUDGET,
    });
    port = responder.address().port;
    flooder = await udpSocket(4, 0, '127.0.9.1');
    flooder.on('message', (m) => flooderGot.push(m));
  });

  after(async () => {
    flooder.close();
    await responder.close();
  });

  const count = (reason: string) => responder.dropped.get(reason) ?? 0;

  it('drops a flood beyond the budget before its MAC, and still answers a proven prober', async () => {
    const probes = await LatencyProbes.open({
      host: '127.0.0.1',
      port,
      key: KEY,
      everyMs: 20,
      timeoutMs: 1000,
    });
    try {
      // Proven before the flood: its first answers.
      for (let i = 0; i < 100 && probes.samples.idle.length === 0; i++) {
        probes.begin('idle');
        await sleep(20);
      }
      assert.ok(probes.samples.idle.length > 0, 'no answer before the flood');
      probes.begin('download');
      const forged = (seq: number) => {
        const p = encodeUdpPacket(
          PacketType.probe,
          {
            token: 1,
            seq,
            sentAtWallMs: Date.now(),
            nonceHi: 7,
            nonceLo: 8,
            toAddress: '127.0.0.1',
            toPort: port,
          },
          KEY,
        );
        p[60]! ^= 0xff; // in the MAC
        return p;
      };
      // 5000 datagrams in about half a second: 50 times the budget's rate.
      const floodFrom = performance.now();
      for (let burst = 0; burst < FLOOD / 100; burst++) {
        for (let i = 0; i < 100; i++) flooder.send(forged(burst * 100 + i), port, '127.0.0.1');
        await sleep(10);
      }
      await sleep(200);
      probes.end();
      await probes.settle();
      const budget = count('peer:budget');
      const badMac = count('peer:bad-mac');
      const floodS = (performance.now() - floodFrom) / 1000;
      assert.ok(budget > 0, 'nothing was dropped for the budget');
      // The MAC was checked for at most the bucket (one second's worth, less
      // the proven sources' reserve) and its refill while the flood lasted.
      const most = BUDGET + BUDGET * floodS;
      assert.ok(badMac <= most, `${badMac} forged MACs checked in ${floodS} s (at most ${most})`);
      assert.ok(budget + badMac <= FLOOD);
      const sent = probes.samples.download.length + probes.lost;
      assert.ok(sent >= 10, `only ${sent} probes in the flood`);
      assert.ok(
        probes.lost <= sent / 10,
        `${probes.lost} of ${sent} probes of the proven prober lost`,
      );
      assert.equal(flooderGot.length, 0, 'the flood got answers');
    } finally {
      probes.close();
    }
  });

  it('refuses random, oversized, version-1 and misaddressed datagrams, and answers none', async () => {
    await sleep(1100); // the bucket full again
    const before = new Map(responder.dropped);
    const valid = (seq: number, to = { toAddress: '127.0.0.1', toPort: port }) =>
      encodeUdpPacket(
        PacketType.probe,
        { token: 2, seq, sentAtWallMs: Date.now(), nonceHi: 9, nonceLo: 9, ...to },
        KEY,
      );
    const random = randomBytes(68);
    random[0] = 0; // not our magic
    const v1 = Buffer.from(valid(1).subarray(0, 48));
    v1[2] = 1;
    createHmac('sha256', KEY).update(v1.subarray(0, 32)).digest().copy(v1, 32, 0, 16);
    const junk: [string, Buffer][] = [
      ['peer:foreign', random],
      ['peer:oversized', Buffer.concat([valid(2), randomBytes(8000)])],
      ['peer:truncated', Buffer.alloc(0)],
      ['peer:version', v1],
      ['peer:not-our-address', valid(3, { toAddress: '127.0.0.3', toPort: port })],
      ['peer:not-our-address', valid(4, { toAddress: '127.0.0.1', toPort: port + 1 })],
    ];
    for (const [, p] of junk) flooder.send(p, port, '127.0.0.1');
    flooder.send(valid(5), port, '127.0.0.1');
    for (let i = 0; i < 100 && flooderGot.length === 0; i++) await sleep(20);
    await sleep(100);
    assert.equal(flooderGot.length, 1, 'only the valid probe was answered');
    const expected = new Map<string, number>();
    for (const [reason] of junk) expected.set(reason, (expected.get(reason) ?? 0) + 1);
    for (const [reason, n] of expected)
      assert.equal(count(reason) - (before.get(reason) ?? 0), n, reason);
  });
});
