// The far end of the fault tests: answers ICMP echo requests in place of the
// kernel (run it where net.ipv4.icmp_echo_ignore_all=1), injecting faults
// chosen by fault-plan.ts, and logs each request and its fate as a JSON line.
//
//   ip netns exec FAR node dist/test/support/responder.js --config cfg.json
//
// SIGUSR1: stop injecting; every later request gets a prompt plain reply, or
// none with afterStop 'drop' (replies already scheduled still go out as
// decided). SIGTERM: exit.
// A test tool, so it imports raw-socket itself; netping's own code keeps
// raw-socket in lib/probes/icmp/raw-transport.ts.

import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import raw from 'raw-socket';
import {
  decide,
  requestKey,
  type Action,
  type LogEntry,
  type ResponderConfig,
} from './fault-plan.js';
import {
  corruptReply,
  echoReply,
  foreignReply,
  parseEchoRequest,
  truncatedReply,
  unreachableFor,
  type EchoRequest,
} from './responder-packets.js';

const at = process.argv.indexOf('--config');
const configPath = at >= 0 ? process.argv[at + 1] : undefined;
if (configPath === undefined) {
  process.stderr.write('usage: responder --config FILE\n');
  process.exit(2);
}
const cfg = JSON.parse(readFileSync(configPath, 'utf8')) as ResponderConfig;
const family = cfg.family;
const log = openSync(cfg.logPath, 'a');
const socket = raw.createSocket({
  protocol: family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
  addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
});
let clean = false;
let pending = 0;

function packetsFor(action: Action, req: EchoRequest, source: string): Buffer[] {
  switch (action) {
    case 'reply':
    case 'late':
      return [echoReply(family, req)];
    case 'dup':
      return [echoReply(family, req), echoReply(family, req)];
    case 'foreign':
      return [foreignReply(family, req)];
    case 'corrupt':
      return [corruptReply(family, req)];
    case 'truncate':
      return [truncatedReply(family, req)];
    case 'unreachable':
      return [unreachableFor(family, req, source, cfg.localAddress)];
    case 'drop':
      return [];
  }
}

function write(entry: LogEntry): void {
  writeSync(log, `${JSON.stringify(entry)}\n`);
}

function noop(): void {}

function onRequest(buffer: Buffer, source: string): void {
  const receivedAt = performance.now();
  const req = parseEchoRequest(family, buffer);
  if (!req) return;
  const decision = decide(cfg, requestKey(req.wideSeq, req.id, req.seq), clean);
  const base = {
    ours: req.wideSeq !== null,
    id: req.id,
    seq: req.seq,
    wideSeq: req.wideSeq,
    bytes: req.icmp.length,
    action: decision.action,
    plannedMs: decision.holdMs,
    ...(clean ? { clean: true } : {}),
  };
  const packets = packetsFor(decision.action, req, source);
  if (packets.length === 0) return write({ ...base, delayMs: 0 });
  const send = (): void => {
    const delayMs = performance.now() - receivedAt;
    let sendError: string | undefined;
    for (const p of packets) {
      try {
        // The native send is a synchronous sendto(): no queue between the
        // measured hold and the wire (raw-socket's JS send() adds a loop turn).
        socket.wrap.send(p, 0, p.length, source, noop);
      } catch (err) {
        sendError = err instanceof Error ? err.message : String(err);
      }
    }
    write({ ...base, delayMs, ...(sendError !== undefined ? { sendError } : {}) });
  };
  // setTimeout() holds at least 1 ms; an immediate reply goes out now.
  if (decision.holdMs < 1) return send();
  pending++;
  setTimeout(() => {
    pending--;
    send();
  }, decision.holdMs);
}

socket.on('message', (buffer: Buffer, source: string) => onRequest(buffer, source));
socket.on('error', (err: unknown) => {
  process.stderr.write(`responder: ${err instanceof Error ? err.message : String(err)}\n`);
});
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
