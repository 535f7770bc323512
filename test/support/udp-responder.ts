// The far end of the udp fault tests: a peer responder of our own that
// speaks netpingd's udp protocol with the peer key, injecting the faults
// fault-plan.ts chooses, and logging each probe and its fate as a JSON line
// (the same log as the ICMP responder's, responder.ts).
//
//   ip netns exec FAR node dist/test/support/udp-responder.js --config cfg.json
//
// The faults, as the udp prober must see them:
//   reply, late  one answer (late: held beyond netpingd's timeout)
//   dup          two answers
//   foreign      a valid answer for another prober (another nonce)
//   corrupt      an answer with a byte flipped after its MAC was made
//   truncate     an answer cut to 20 bytes
//   drop         nothing
// 'unreachable' has no udp form here (this responder would need a raw
// socket to send an ICMP error; test/integration/udp-sockets.test.ts
// checks the prober's port unreachable on loopback): a plan with it is refused.
// SIGUSR1: stop injecting (see responder.ts). SIGTERM: exit.

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import {
  decodeUdpPacket,
  encodeUdpPacket,
  PacketType,
  type UdpFields,
} from '../../lib/probes/udp/packet.js';
import { udpSocket } from '../../lib/probes/udp/prober.js';
import {
  decide,
  requestKey,
  type Action,
  type LogEntry,
  type UdpResponderConfig,
} from './fault-plan.js';

const at = process.argv.indexOf('--config');
const configPath = at >= 0 ? process.argv[at + 1] : undefined;
if (configPath === undefined) {
  process.stderr.write('usage: udp-responder --config FILE\n');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as UdpResponderConfig;
if ((cfg.faults.unreachable ?? 0) > 0) {
  process.stderr.write('udp-responder: no unreachable fault for udp\n');
  process.exit(2);
}
const key = Buffer.from(cfg.peerKey);
const log = openSync(cfg.logPath, 'a');
const socket = await udpSocket(cfg.family, cfg.port, cfg.localAddress);
let clean = false;
let pending = 0;

function packetsFor(action: Action, f: UdpFields): Buffer[] {
  const answer = (): Buffer => encodeUdpPacket(PacketType.answer, f, key);
  switch (action) {
    case 'reply':
    case 'late':
      return [answer()];
    case 'dup':
      return [answer(), answer()];
    case 'foreign':
      return [encodeUdpPacket(PacketType.answer, { ...f, nonceLo: f.nonceLo ^ 1 }, key)];
    case 'corrupt': {
      const a = answer();
      a[20]! ^= 0x40; // in the send time, under the MAC
      return [a];
    }
    case 'truncate':
      return [answer().subarray(0, 20)];
    case 'drop':
    case 'unreachable':
      return [];
  }
}

function write(entry: LogEntry): void {
  writeSync(log, `${JSON.stringify(entry)}\n`);
}

function onProbe(packet: Buffer, address: string, port: number): void {
  const receivedAt = performance.now();
  const decoded = decodeUdpPacket(packet, PacketType.probe, key);
  if (!decoded.ok) {
    process.stderr.write(`udp-responder: ${decoded.reason} packet from ${address}\n`);
    return;
  }
  const f = decoded.fields;
  const decision = decide(cfg, requestKey(f.seq, 0, 0), clean);
  const base = {
    ours: true,
    id: 0,
    seq: f.seq % 0x10000,
    wideSeq: f.seq,
    bytes: packet.length,
    action: decision.action,
    plannedMs: decision.holdMs,
    ...(clean ? { clean: true } : {}),
  };
  const packets = packetsFor(decision.action, f);
  if (packets.length === 0) return write({ ...base, delayMs: 0 });
  const send = (): void => {
    const delayMs = performance.now() - receivedAt;
    // dgram reports a refused send to the callback only: the entry is
    // written once every packet's fate is known.
    let left = packets.length;
    let sendError: string | undefined;
    for (const p of packets) {
      socket.send(p, port, address, (err) => {
        if (err) sendError = err.message;
        if (--left === 0) write({ ...base, delayMs, ...(sendError ? { sendError } : {}) });
      });
    }
  };
  if (decision.holdMs < 1) return send();
  pending++;
  setTimeout(() => {
    pending--;
    send();
  }, decision.holdMs);
}

socket.on('message', (packet, rinfo) => onProbe(packet, rinfo.address, rinfo.port));
socket.on('error', (err) => process.stderr.write(`udp-responder: ${err.message}\n`));
process.on('SIGUSR1', () => {
  clean = true;
  process.stdout.write(`clean (${pending} pending)\n`);
});
function exit(): void {
  socket.close();
  closeSync(log);
  process.exit(0);
}
process.on('SIGTERM', exit);
setTimeout(exit, cfg.maxLifetimeMs);
process.stdout.write('ready\n');
