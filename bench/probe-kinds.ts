// CPU per probe by kind: one netpingd probing ICMP targets, then TCP targets
// added beside them, then UDP ones, each phase measured over its own window;
// a kind's cost is what its phase added, divided by the probes it added.
// The UDP targets are answered by a second netpingd (the peer responder,
// no targets of its own), whose CPU per answer is reported apart; the TCP
// ones by a listener process that accepts and forgets. Traffic stays on
// 127.0.0.0/8.
//
//   node dist/bench/probe-kinds.js --icmp 10000 --tcp 2000 --udp 2000 --seconds 20 --warmup 8

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { sumByLabel, sumOf } from './support/prometheus.js';
import {
  cpuSeconds,
  freePort,
  memory,
  sleep,
  start,
  stop,
  stopAll,
  timedGet,
  waitForLine,
  type Tracked,
} from './support/processes.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DAEMON = join(ROOT, 'dist', 'daemon', 'main.js');
const PEER_KEY = 'bench-peer-key-0123456789abcdef';
const KINDS = ['icmp', 'tcp', 'udp'] as const;
type Kind = (typeof KINDS)[number];
// Each kind on its own /16 of loopback, so nothing is shared by accident.
const NET: Record<Kind, number> = { icmp: 100, tcp: 101, udp: 102 };

function members(kind: Kind, n: number, port: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    // 255 hosts per /24 (.1-.255): the index picks the /24, then the host.
    const a = `127.${NET[kind]}.${Math.floor(i / 255)}.${(i % 255) + 1}`;
    out.push(kind === 'icmp' ? `${kind}${i}@${a}` : `${kind}${i}@${a}?probe=${kind}&port=${port}`);
  }
  return out;
}

interface Counts {
  sent: Map<string, number>;
  lost: Map<string, number>;
  refused: number;
}

/** netping_sent_total and netping_lost_total summed by the probe label (`all` when there is none). */
function countsOf(body: string): Counts {
  return {
    sent: sumByLabel(body, 'netping_sent_total', 'probe', 'all'),
    lost: sumByLabel(body, 'netping_lost_total', 'probe', 'all'),
    refused: sumOf(body, 'netping_received_by_reason_total'),
  };
}

/** "foreign 4, bad-mac 2", or "none". */
function listed(sums: ReadonlyMap<string, number>): string {
  return [...sums].map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
}

interface Window {
  seconds: number;
  cpuS: number;
  responderCpuS: number;
  start: Counts;
  end: Counts;
}

async function measure(
  prober: Tracked,
  responder: Tracked,
  metricsUrl: string,
  seconds: number,
): Promise<Window> {
  // Counters are read while a scrape renders, which at 10,000 targets takes
  // a while: the probes counted span the two scrapes' midpoints, and CPU is
  // read between the scrapes, so scraping is not charged to the probes.
  const scrape = async (): Promise<{ counts: Counts; midMs: number }> => {
    const t0 = performance.now();
    const { body, ms } = await timedGet(metricsUrl, 120_000).catch((err: unknown) => {
      throw new Error(
        `GET ${metricsUrl}: ${err instanceof Error ? err.message : String(err)}; netpingd said: ${prober.stderr.slice(-5).join(' | ')}`,
      );
    });
    return { counts: countsOf(body), midMs: t0 + ms / 2 };
  };
  const first = await scrape();
  const cpu0 = cpuSeconds(prober);
  const rcpu0 = cpuSeconds(responder);
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const cpu1 = cpuSeconds(prober);
  const rcpu1 = cpuSeconds(responder);
  const t1 = performance.now();
  const last = await scrape();
  const windowS = (t1 - t0) / 1000;
  const countedSeconds = (last.midMs - first.midMs) / 1000;
  return {
    seconds: countedSeconds,
    // CPU per second of the window, over the counted span.
    cpuS: ((cpu1 - cpu0) / windowS) * countedSeconds,
    responderCpuS: ((rcpu1 - rcpu0) / windowS) * countedSeconds,
    start: first.counts,
    end: last.counts,
  };
}

function delta(w: Window, which: 'sent' | 'lost', kind: string): number {
  return (w.end[which].get(kind) ?? 0) - (w.start[which].get(kind) ?? 0);
}

/** The host's UDP receive-buffer and other input errors (/proc/net/snmp), IPv4. */
function udpDrops(): { rcvbuf: number; inErrors: number } {
  const lines = readFileSync('/proc/net/snmp', 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('Udp:'));
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/).map(Number);
  const at = (name: string): number => values[names.indexOf(name)] ?? NaN;
  return { rcvbuf: at('RcvbufErrors'), inErrors: at('InErrors') };
}

function timeWaitSockets(): number {
  const out = execFileSync('ss', ['-Htan', 'state', 'time-wait'], { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      icmp: { type: 'string', default: '10000' },
      tcp: { type: 'string', default: '2000' },
      udp: { type: 'string', default: '2000' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '8' },
    },
    strict: true,
  });
  const n: Record<Kind, number> = {
    icmp: Number(values.icmp),
    tcp: Number(values.tcp),
    udp: Number(values.udp),
  };
  for (const k of KINDS) {
    if (!Number.isInteger(n[k]) || n[k] < 0 || n[k] > 60_000) throw new Error(`--${k}: 0-60000`);
  }
  const windowS = Number(values.seconds);
  const warmupS = Number(values.warmup);
  const dir = mkdtempSync(join(tmpdir(), 'netping-kinds-'));
  try {
    const redisPort = await freePort();
    const redis = start('redis-server', 'redis-server', [
      ...['--port', String(redisPort), '--bind', '127.0.0.1', '--save', ''],
      ...['--appendonly', 'no', '--dir', dir, '--logfile', '', '--daemonize', 'no'],
    ]);
    await waitForLine(redis, /Ready to accept connections/, 10_000);

    const tcpPort = await freePort();
    // Accepts and forgets: the prober resets each connection as soon as it is up.
    const listener = start('tcp listener', process.execPath, [
      '-e',
      `const s=require('node:net').createServer({pauseOnConnect:true},(c)=>{c.on('error',()=>{});c.destroy();});` +
        `s.maxConnections=100000;s.listen({port:${tcpPort},host:'0.0.0.0',backlog:4096},()=>console.log('up'));`,
    ]);
    await waitForLine(listener, /up/, 10_000);

    const udpPort = await freePort();
    const responder = start('responder', process.execPath, [
      DAEMON,
      ...['--state-dir', join(dir, 'responder'), '--listen', '127.0.0.1:0'],
      ...['--peer-key', PEER_KEY, '--peer-listen', `0.0.0.0:${udpPort}`],
      ...['--peer-max-rate', '100000'],
    ]);
    const responderLine = await waitForLine(responder, /listening on 127\.0\.0\.1:\d+/, 30_000);

    const prefix = `bench-${process.pid}`;
    const client = new Redis({ host: '127.0.0.1', port: redisPort, lazyConnect: true });
    await client.connect();
    const addKind = async (kind: Kind): Promise<void> => {
      const port = kind === 'tcp' ? tcpPort : udpPort;
      const all = members(kind, n[kind], port);
      for (let i = 0; i < all.length; i += 1000)
        await client.sadd(`{${prefix}}:targets`, ...all.slice(i, i + 1000));
    };
    await addKind('icmp');
    const total = n.icmp + n.tcp + n.udp;
    const prober = start('netpingd', process.execPath, [
      DAEMON,
      ...['--redis', `redis://127.0.0.1:${redisPort}`, '--prefix', prefix],
      ...['--listen', '127.0.0.1:0', '--interval', '1s', '--timeout', '1s'],
      ...['--state-dir', join(dir, 'prober'), '--max-targets', String(total)],
      ...['--resync', '1s', '--save-interval', '1h'],
      ...['--peer-key', PEER_KEY, '--peer-listen', `127.0.0.1:${await freePort()}`],
    ]);
    const line = await waitForLine(prober, /listening on 127\.0\.0\.1:\d+/, 30_000);
    const metricsUrl = `http://127.0.0.1:${/listening on 127\.0\.0\.1:(\d+)/.exec(line)?.[1]}/metrics`;

    const windows: Partial<Record<Kind, Window>> = {};
    let timeWait = 0;
    let drops = { rcvbuf: 0, inErrors: 0 };
    let udpSockets: string[] = [];
    for (const kind of KINDS) {
      if (kind !== 'icmp') {
        if (n[kind] === 0) continue;
        await addKind(kind);
      }
      console.error(`phase: ${kind} (${n[kind]} targets)`);
      await sleep(warmupS * 1000);
      const before = udpDrops();
      windows[kind] = await measure(prober, responder, metricsUrl, windowS);
      if (kind === 'udp') {
        // ss -m puts each socket's skmem on a continuation line (a tab first).
        udpSockets = execFileSync('ss', ['-Huanmp'], { encoding: 'utf8' })
          .replace(/\n\t/g, ' ')
          .split('\n')
          .filter((l) => l.includes(`:${udpPort}`) || /"node",pid=/.test(l))
          .map((l) => l.replace(/\s+/g, ' ').trim());
        const after = udpDrops();
        drops = {
          rcvbuf: after.rcvbuf - before.rcvbuf,
          inErrors: after.inErrors - before.inErrors,
        };
      }
      if (kind === 'tcp') timeWait = timeWaitSockets();
    }
    const rss = memory(prober);
    const responderUrl = `http://127.0.0.1:${/listening on 127\.0\.0\.1:(\d+)/.exec(responderLine)?.[1]}/metrics`;
    const refusedByResponder = sumByLabel(
      (await timedGet(responderUrl)).body,
      'netping_packets_ignored_total',
      'reason',
    );
    const proberBody = (await timedGet(metricsUrl, 120_000)).body;
    const proberIgnored = sumByLabel(proberBody, 'netping_packets_ignored_total', 'reason');
    const lateByKind = sumByLabel(proberBody, 'netping_late_total', 'probe');
    const lostReasons = sumByLabel(proberBody, 'netping_errors_total', 'reason');
    const lines: string[] = [];
    lines.push(
      `command: node dist/bench/probe-kinds.js --icmp ${n.icmp} --tcp ${n.tcp} --udp ${n.udp} --seconds ${windowS} --warmup ${warmupS}`,
    );
    lines.push(`cpus: ${cpus().length} x ${cpus()[0]?.model ?? '?'}; node ${process.version}`);
    lines.push('');
    lines.push(
      '| phase | targets probed | probes/s of the kind | CPU % of a core (whole daemon) | CPU µs per probe of the kind | loss of the kind |',
    );
    lines.push('| --- | --- | --- | --- | --- | --- |');
    let previousPct = 0;
    let probed = 0;
    for (const kind of KINDS) {
      const w = windows[kind];
      if (!w) continue;
      probed += n[kind];
      const labelled = w.end.sent.has(kind);
      const sent = labelled ? delta(w, 'sent', kind) : NaN;
      const lost = labelled ? delta(w, 'lost', kind) : NaN;
      const pct = (100 * w.cpuS) / w.seconds;
      const rate = sent / w.seconds;
      const usPerProbe = ((pct - previousPct) / 100 / rate) * 1e6;
      lines.push(
        `| + ${n[kind]} ${kind} | ${probed} | ${rate.toFixed(0)} | ${pct.toFixed(1)} | ${usPerProbe.toFixed(1)} | ${((100 * lost) / sent).toFixed(2)} % |`,
      );
      previousPct = pct;
    }
    lines.push('');
    const u = windows.udp;
    const idle = windows.icmp;
    if (u && idle) {
      // The responder's own idle cost (timers, its HTTP side), from the
      // icmp window when it answered nothing, is not charged to answers.
      const answered = delta(u, 'sent', 'udp') - delta(u, 'lost', 'udp');
      const idlePerS = idle.responderCpuS / idle.seconds;
      const answering = u.responderCpuS - idlePerS * u.seconds;
      lines.push(
        `- responder netpingd: ${((answering / answered) * 1e6).toFixed(1)} µs of CPU per udp probe answered (${(answered / u.seconds).toFixed(0)}/s), beyond its idle ${(100 * idlePerS).toFixed(1)} % of a core`,
      );
    }
    lines.push(
      `- UDP datagrams the host dropped in the udp window (IPv4, /proc/net/snmp): ${drops.rcvbuf} for a full receive buffer, ${drops.inErrors} input errors in all`,
    );
    lines.push(`- TIME_WAIT sockets on the host at the end of the tcp window: ${timeWait}`);
    lines.push(
      `- prober RSS at the end: ${rss.rssMb.toFixed(1)} MB (peak ${rss.peakRssMb.toFixed(1)} MB)`,
    );
    const refused = windows.tcp ? windows.tcp.end.refused - windows.tcp.start.refused : 0;
    lines.push(`- tcp probes answered by a refusal in the tcp window: ${refused}`);
    lines.push(`- packets the responder ignored, by reason: ${listed(refusedByResponder)}`);
    lines.push(`- the prober's losses by reason (whole run): ${listed(lostReasons)}`);
    lines.push(`- packets the prober ignored, by reason: ${listed(proberIgnored)}`);
    lines.push(`- late answers by kind (whole run): ${listed(lateByKind)}`);
    lines.push('- udp sockets at the end of the udp window (ss -uanmp: Recv-Q, skmem d = drops):');
    for (const l of udpSockets) lines.push(`    ${l}`);
    console.log(lines.join('\n'));
    client.disconnect();
    await stop(prober);
    await stop(responder);
    await stop(listener);
    await stop(redis);
  } finally {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

process.on('SIGINT', () => void stopAll().then(() => process.exit(130)));
main().catch(async (err: unknown) => {
  console.error(err instanceof Error ? err.message : String(err));
  await stopAll();
  process.exit(1);
});
