// The udp prober and the peer responder on real loopback sockets (127.0.0.1
// and ::1), without a daemon: what gets an answer, what does not, and how
// each refused packet is counted. Everything runs on both transports: our
// addon's sockets and node's dgram.

import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseTargetKey as parseTarget } from '../../lib/target.js';
import type { ProbeSink } from '../../lib/probes/prober.js';
import { SendError } from '../../lib/probes/prober.js';
import {
  decodeUdpPacket,
  encodeUdpPacket,
  PacketType,
  type UdpFields,
} from '../../lib/probes/udp/packet.js';
import { loadNativeSockets } from '../../lib/probes/icmp/native-sockets.js';
import { openUdpTransport } from '../../lib/probes/udp/open-transport.js';
import { udpSocket, UdpProber } from '../../lib/probes/udp/prober.js';
import { PeerResponder } from '../../lib/probes/udp/responder.js';

const KEY = Buffer.from('udp-sockets-test-key-0123');
const WRONG_KEY = Buffer.from('not-the-key-at-all-0123456');
const QUIET_MS = 300; // how long "no answer" is waited for, after the last answer expected

/** A plain client socket that keeps what it receives. */
async function client(family: 4 | 6): Promise<{
  socket: dgram.Socket;
  received: Buffer[];
  send: (p: Buffer, port: number) => void;
}> {
  const socket = await udpSocket(family, 0, family === 4 ? '127.0.0.1' : '::1');
  const received: Buffer[] = [];
  socket.on('message', (m) => received.push(m));
  const host = family === 4 ? '127.0.0.1' : '::1';
  return { socket, received, send: (p, port) => socket.send(p, port, host) };
}

async function until(check: () => boolean, timeoutMs = 2_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < timeoutMs / 10 + 1 && Date.now() < deadline; i++) {
    if (check()) return true;
    await sleep(10);
  }
  return check();
}

function fields(seq: number, extra: Partial<UdpFields> = {}): UdpFields {
  return {
    token: 77,
    seq,
    sentAtWallMs: Date.now(),
    nonceHi: 5,
    nonceLo: 6,
    toAddress: '127.0.0.1',
    toPort: 0,
    ...extra,
  };
}

const native = loadNativeSockets();
const TRANSPORTS = ['native', 'dgram'] as const;
function skipFor(transport: (typeof TRANSPORTS)[number]): string | false {
  return transport === 'native' && !native.ok ? `the addon: ${native.reason}` : false;
}

for (const transport of TRANSPORTS)
  for (const family of [4, 6] as const) {
    describe(
      `peer responder on IPv${family} loopback (${transport})`,
      { skip: skipFor(transport) },
      () => {
        let responder: PeerResponder;
        let c: Awaited<ReturnType<typeof client>>;
        let port: number;
        // Sent to the responder's own address and port, as a prober would.
        const probeFields = (seq: number, extra: Partial<UdpFields> = {}): UdpFields =>
          fields(seq, { toAddress: family === 4 ? '127.0.0.1' : '::1', toPort: port, ...extra });

        before(async () => {
          responder = await PeerResponder.start({
            key: KEY,
            listen: { host: family === 4 ? '127.0.0.1' : '::1', port: 0 },
            maxRatePerS: 5,
            transport,
          });
          assert.equal(responder.transport, transport);
          port = responder.address().port;
          c = await client(family);
        });

        after(async () => {
          c?.socket.close();
          await responder?.close();
        });

        it('answers a valid probe once, with an answer of the same size', async () => {
          const probe = encodeUdpPacket(PacketType.probe, probeFields(1), KEY);
          c.send(probe, port);
          assert.ok(await until(() => c.received.length === 1), 'no answer');
          const answer = c.received[0]!;
          assert.equal(answer.length, probe.length);
          const decoded = decodeUdpPacket(answer, PacketType.answer, KEY);
          assert.ok(decoded.ok);
          // The answer echoes the probe, and says how long the responder held it.
          const { heldMs, ...echoed } = decoded.fields;
          assert.deepEqual(decodeUdpPacket(probe, PacketType.probe, KEY), {
            ok: true,
            fields: { ...echoed, heldMs: 0 },
          });
          assert.ok(heldMs !== undefined && heldMs >= 0 && heldMs < 1_000, `held ${heldMs} ms`);
        });

        it('answers no spoofed, replayed, truncated, oversized or stale packet, and counts each', async () => {
          c.received.length = 0;
          const captured = encodeUdpPacket(PacketType.probe, probeFields(2), KEY);
          c.send(captured, port);
          assert.ok(await until(() => c.received.length === 1), 'no answer to the captured probe');
          c.received.length = 0;
          const bad: Record<string, Buffer> = {
            'peer:replay': captured,
            'peer:bad-mac': encodeUdpPacket(PacketType.probe, probeFields(3), WRONG_KEY),
            'peer:truncated': encodeUdpPacket(PacketType.probe, probeFields(4), KEY).subarray(
              0,
              30,
            ),
            'peer:oversized': Buffer.concat([
              encodeUdpPacket(PacketType.probe, probeFields(5), KEY),
              Buffer.alloc(1200),
            ]),
            'peer:stale': encodeUdpPacket(
              PacketType.probe,
              probeFields(6, { sentAtWallMs: Date.now() - 120_000 }),
              KEY,
            ),
            'peer:foreign': encodeUdpPacket(PacketType.answer, probeFields(7), KEY),
          };
          const before = new Map(responder.dropped);
          for (const packet of Object.values(bad)) c.send(packet, port);
          // A valid probe last: loopback keeps order, so an answer to any bad
          // packet would come before this one's.
          c.send(encodeUdpPacket(PacketType.probe, probeFields(8), KEY), port);
          assert.ok(await until(() => c.received.length >= 1), 'no answer to the last valid probe');
          await sleep(QUIET_MS);
          assert.equal(c.received.length, 1, 'only the valid probe was answered');
          const decoded = decodeUdpPacket(c.received[0]!, PacketType.answer, KEY);
          assert.ok(decoded.ok && decoded.fields.seq === 8);
          for (const reason of Object.keys(bad)) {
            assert.equal(
              (responder.dropped.get(reason) ?? 0) - (before.get(reason) ?? 0),
              1,
              `${reason} counted once`,
            );
          }
        });

        it('answers at most --peer-max-rate probes per second for one source', async () => {
          c.received.length = 0;
          await sleep(1_100); // a full bucket: 5
          const before = responder.dropped.get('peer:rate-limit') ?? 0;
          for (let seq = 100; seq < 112; seq++)
            c.send(encodeUdpPacket(PacketType.probe, probeFields(seq), KEY), port);
          assert.ok(await until(() => c.received.length >= 5));
          await sleep(QUIET_MS);
          // 5 at once, and perhaps one more refilled while the 12 arrived (200 ms a token).
          assert.ok(c.received.length === 5 || c.received.length === 6, `${c.received.length}`);
          assert.equal(
            (responder.dropped.get('peer:rate-limit') ?? 0) - before,
            12 - c.received.length,
          );
        });
      },
    );
  }

for (const transport of TRANSPORTS)
  describe(`udp prober on loopback (${transport})`, { skip: skipFor(transport) }, () => {
    type Event = [string, ...unknown[]];
    const events: Event[] = [];
    const sink: ProbeSink = {
      reply: (token, seq, source, atMs) => events.push(['reply', token, seq, source, typeof atMs]),
      fail: (token, seq, reason) => events.push(['fail', token, seq, reason]),
      ignore: (reason) => events.push(['ignore', reason]),
      findInFlight: () => undefined,
    };
    let far: dgram.Socket;
    let farPort: number;
    let prober: UdpProber;
    const nonce = Buffer.from([0, 0, 0, 1, 0, 0, 0, 2]);
    const probes: Buffer[] = [];
    let proberPort = 0;

    before(async () => {
      far = await udpSocket(4, 0, '127.0.0.1');
      farPort = far.address().port;
      far.on('message', (m, rinfo) => {
        probes.push(m);
        proberPort = rinfo.port;
      });
      const socket = await openUdpTransport(transport, { family: 4, host: '127.0.0.1' });
      assert.equal(socket.transport, transport);
      prober = new UdpProber({ key: KEY, transports: { 4: socket }, nonce });
      prober.bind(sink);
    });

    after(() => {
      prober?.close();
      far?.close();
    });

    it('sends an authenticated probe to the target port, and matches each answer', async () => {
      const target = parseTarget(`peer@127.0.0.1?probe=udp&port=${farPort}`);
      prober.send({ target, token: 9, seq: 2 ** 40, sentAtMs: 0 });
      assert.ok(await until(() => probes.length === 1), 'the probe never arrived');
      const d = decodeUdpPacket(probes[0]!, PacketType.probe, KEY);
      assert.ok(d.ok);
      assert.deepEqual(
        [d.fields.token, d.fields.seq, d.fields.nonceHi, d.fields.nonceLo],
        [9, 2 ** 40, 1, 2],
      );
      assert.ok(Math.abs(d.fields.sentAtWallMs - Date.now()) < 5_000);
      const answer = encodeUdpPacket(PacketType.answer, d.fields, KEY);
      const corrupt = Buffer.from(answer);
      corrupt[20]! ^= 1;
      const otherNonce = encodeUdpPacket(PacketType.answer, { ...d.fields, nonceLo: 3 }, KEY);
      for (const p of [
        answer,
        corrupt,
        answer.subarray(0, 20),
        otherNonce,
        probes[0]!, // our own probe reflected back: not an answer
        Buffer.concat([answer, Buffer.alloc(4)]),
        answer, // a duplicate: the engine's ledger tells it from the first
      ])
        far.send(p, proberPort, '127.0.0.1');
      assert.ok(await until(() => events.length === 7), JSON.stringify(events));
      assert.deepEqual(events, [
        ['reply', 9, 2 ** 40, '127.0.0.1', 'number'],
        ['ignore', 'bad-mac'],
        ['ignore', 'truncated'],
        ['ignore', 'foreign'],
        ['ignore', 'foreign'],
        ['ignore', 'foreign'],
        ['reply', 9, 2 ** 40, '127.0.0.1', 'number'],
      ]);
    });

    it('fails a send without a key, or without a socket for the family, as SendError', () => {
      const noKey = new UdpProber({ key: undefined, transports: {} });
      const target = parseTarget(`peer@127.0.0.1?probe=udp&port=${farPort}`);
      assert.throws(
        () => noKey.send({ target, token: 1, seq: 0, sentAtMs: 0 }),
        (err) => err instanceof SendError && err.code === 'no-peer-key',
      );
      const v6 = parseTarget('peer6@::1?probe=udp&port=9');
      assert.throws(
        () => prober.send({ target: v6, token: 1, seq: 0, sentAtMs: 0 }),
        (err) => err instanceof SendError && err.code === 'no-ipv6-socket',
      );
    });

    for (const family of [4, 6] as const) {
      it(`IPv${family}: a probe to a port where nothing listens ${transport === 'native' ? 'fails at once as icmp:port-unreachable' : 'hears nothing (an unconnected dgram socket)'}`, async () => {
        const host = family === 4 ? '127.0.0.1' : '::1';
        // A port free a moment ago: bound, then closed.
        const gone = await udpSocket(family, 0, host);
        const closedPort = gone.address().port;
        await new Promise<void>((resolve) => gone.close(() => resolve()));
        const seen: Event[] = [];
        const own = new UdpProber({
          key: KEY,
          transports: {
            [family]: await openUdpTransport(transport, { family, host, receiveErrors: true }),
          },
          nonce,
        });
        own.bind({
          ...sink,
          fail: (token, seq, reason) => seen.push(['fail', token, seq, reason]),
          ignore: (reason) => seen.push(['ignore', reason]),
        });
        try {
          const target = parseTarget(`closed@${host}?probe=udp&port=${closedPort}`);
          own.send({ target, token: 8, seq: 3, sentAtMs: 0 });
          if (transport === 'native') {
            assert.ok(await until(() => seen.length === 1), JSON.stringify(seen));
            assert.deepEqual(seen, [['fail', 8, 3, 'icmp:port-unreachable']]);
          } else {
            await sleep(QUIET_MS);
            assert.deepEqual(seen, []);
          }
        } finally {
          own.close();
        }
      });
    }

    it("reports the kernel's refusal of a send as the probe's failure, send:<errno>", async () => {
      events.length = 0;
      // A broadcast address without SO_BROADCAST: the kernel refuses with EACCES.
      const target = parseTarget('bcast@255.255.255.255?probe=udp&port=9');
      if (transport === 'native') {
        // The addon's send is the syscall itself: the refusal is thrown at once.
        assert.throws(
          () => prober.send({ target, token: 4, seq: 17, sentAtMs: 0 }),
          (err) => err instanceof SendError && err.code === 'EACCES',
        );
        return;
      }
      prober.send({ target, token: 4, seq: 17, sentAtMs: 0 });
      assert.ok(await until(() => events.length === 1));
      assert.deepEqual(events, [['fail', 4, 17, 'send:EACCES']]);
    });
  });
