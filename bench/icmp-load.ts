// Load benchmark: netpingd against N loopback targets at 1 s, side by side
// with fping and prometheus-smokeping-prober on the same targets in the same
// run, one tool after another. Traffic goes to 127.0.0.0/8 only. fping runs
// in two configurations (`fping`: sends spaced over half the period,
// `fping-burst`: `-i 0`, a burst a round); netpingd is compared with the
// cheaper.
//
//   node dist/bench/icmp-load.js --targets 10000 --seconds 30 --warmup 10
//   NETPING_BENCH_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' node dist/bench/icmp-load.js

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { benchFping } from './support/fping.js';
import { benchNetpingd } from './support/netpingd.js';
import { stopAll } from './support/processes.js';
import { benchSmokeping, SMOKEPING_BINARY } from './support/smokeping.js';
import type { Row } from './support/window.js';

const MAX_TARGETS = 100_000;
const TOOLS = ['netpingd', 'fping', 'fping-burst', 'smokeping'] as const;
const DEFAULT_TOOLS = ['netpingd', 'fping', 'smokeping'] as const;
type Tool = (typeof TOOLS)[number];

interface Options {
  targets: number;
  windowS: number;
  warmupS: number;
  smokepingTargets: number;
  tools: Tool[];
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      targets: { type: 'string', default: '10000' },
      seconds: { type: 'string', default: '30' },
      warmup: { type: 'string', default: '10' },
      'smokeping-targets': { type: 'string' },
      tools: { type: 'string', default: DEFAULT_TOOLS.join(',') },
    },
    strict: true,
  });
  const int = (name: string, text: string, min: number, max: number): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new Error(`--${name} must be a whole number from ${min} to ${max}, not '${text}'`);
    }
    return n;
  };
  const targets = int('targets', values.targets, 1, MAX_TARGETS);
  const tools = values.tools.split(',').map((t) => {
    if (!(TOOLS as readonly string[]).includes(t)) throw new Error(`unknown tool '${t}'`);
    return t as Tool;
  });
  return {
    targets,
    windowS: int('seconds', values.seconds, 5, 3600),
    warmupS: int('warmup', values.warmup, 2, 600),
    smokepingTargets: int(
      'smokeping-targets',
      values['smokeping-targets'] ?? String(Math.min(targets, 1000)),
      1,
      targets,
    ),
    tools,
  };
}

/** Distinct loopback addresses 127.100.0.1 onwards, last octet 1-254. */
export function targetAddress(i: number): string {
  const perB = 254;
  const perA = 256 * perB;
  return `127.${100 + Math.floor(i / perA)}.${Math.floor(i / perB) % 256}.${1 + (i % perB)}`;
}

function has(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore', timeout: 5_000 });
    return true;
  } catch {
    return false;
  }
}

function machine(): string[] {
  const firstLine = (command: string, args: string[]): string => {
    try {
      return execFileSync(command, args, { timeout: 5_000, stdio: ['ignore', 'pipe', 'pipe'] })
        .toString()
        .split('\n')[0]!
        .trim();
    } catch {
      return 'unknown';
    }
  };
  return [
    `cpus: ${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}; kernel ${release()}; node ${process.version}`,
    `fping: ${firstLine('fping', ['-v'])}; load average at start: ${readFileSync('/proc/loadavg', 'utf8').trim()}`,
  ];
}

const fmt = (n: number | undefined, digits: number): string =>
  n === undefined || Number.isNaN(n) ? 'n/a' : n.toFixed(digits);

function table(rows: readonly Row[]): string {
  const head = [
    'tool',
    'targets',
    'probes/s',
    'CPU µs/probe',
    'CPU % of a core',
    'RSS MB peak (end of window)',
    'scrape ms median / max (KiB)',
    'loss %',
    'median RTT ms',
  ];
  const lines = rows.map((r) => [
    r.tool,
    String(r.targets),
    fmt(r.probesPerS, 0),
    fmt(r.cpuUsPerProbe, 1),
    fmt(r.cpuPctOfCore, 1),
    `${fmt(r.rssMbPeak, 1)} (${fmt(r.rssMbEnd, 1)})`,
    r.scrapeMsMedian === undefined
      ? 'n/a'
      : `${fmt(r.scrapeMsMedian, 0)} / ${fmt(r.scrapeMsMax, 0)} (${fmt(r.scrapeKb, 0)})`,
    fmt(r.lossPct, 2),
    fmt(r.medianRttMs, 3),
  ]);
  const row = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  return [row(head), row(head.map(() => '---')), ...lines.map(row)].join('\n');
}

function verdict(rows: readonly Row[]): string[] {
  const netpingd = rows.find((r) => r.tool === 'netpingd');
  // fping in its cheapest configuration of those run.
  const fping = rows
    .filter((r) => r.tool.startsWith('fping'))
    .sort((a, b) => a.cpuUsPerProbe - b.cpuUsPerProbe)[0];
  if (netpingd === undefined) return [];
  const out = [
    `netpingd: ${fmt(netpingd.cpuPctOfCore, 0)}% of a core (aim: fits in one core, under 100%)`,
    `netpingd: peak RSS ${fmt(netpingd.rssMbPeak, 0)} MB (aim: under 150 MB)`,
    `netpingd: /metrics scrape max ${fmt(netpingd.scrapeMsMax, 0)} ms (aim: under 1000 ms)`,
  ];
  if (fping !== undefined) {
    out.push(
      `netpingd/${fping.tool} CPU per probe: ${fmt(netpingd.cpuUsPerProbe / fping.cpuUsPerProbe, 2)}x (aim: at most 1.5x at 1,000 and 2,000 targets, 1.0x at 10,000)`,
      `netpingd - fping median RTT: ${fmt(netpingd.medianRttMs - fping.medianRttMs, 3)} ms (aim: at most 0.100 ms)`,
    );
  }
  return out;
}

interface RunContext {
  dir: string;
  warmupS: number;
  windowS: number;
  addresses: string[];
  nodeArgs: string[];
  here: string;
}

async function runTool(
  tool: Tool,
  o: Options,
  c: RunContext,
  log: (line: string) => void,
): Promise<Row | undefined> {
  const span = { dir: c.dir, warmupS: c.warmupS, windowS: c.windowS };
  if (tool === 'netpingd') {
    log(`netpingd, ${o.targets} targets, ${o.warmupS} s warm-up + ${o.windowS} s window`);
    const daemonScript = join(c.here, '..', 'daemon', 'main.js');
    return benchNetpingd({ ...span, daemonScript, nodeArgs: c.nodeArgs, addresses: c.addresses });
  }
  if (tool === 'fping' || tool === 'fping-burst') {
    if (!has('fping')) return void log('fping is not installed; skipped');
    const burst = tool === 'fping-burst';
    log(`fping${burst ? ' -i 0' : ''}, ${o.targets} targets`);
    return benchFping({ ...span, addresses: c.addresses, burst });
  }
  if (!has(SMOKEPING_BINARY)) return void log(`${SMOKEPING_BINARY} is not installed; skipped`);
  log(`${SMOKEPING_BINARY}, ${o.smokepingTargets} targets`);
  return benchSmokeping({ ...span, addresses: c.addresses.slice(0, o.smokepingTargets) });
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  const here = dirname(fileURLToPath(import.meta.url));
  const nodeArgs = (process.env.NETPING_BENCH_NODE_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  const host = machine();
  const dir = mkdtempSync(join(tmpdir(), 'netping-bench-'));
  const addresses = Array.from({ length: o.targets }, (_, i) => targetAddress(i));
  const cleanup = async (): Promise<void> => {
    await stopAll();
    rmSync(dir, { recursive: true, force: true });
  };
  let interrupted = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (interrupted) return;
      interrupted = true;
      process.stderr.write(`bench: ${signal}, stopping\n`);
      void cleanup().finally(() => process.exit(130));
    });
  }
  // Each tool needs warm-up + window + startup and shutdown; beyond that, something hangs.
  const budgetS = o.tools.length * (o.warmupS + o.windowS + 180);
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: still running after ${budgetS} s, giving up\n`);
    void cleanup().finally(() => process.exit(1));
  }, budgetS * 1000);
  watchdog.unref();

  const log = (line: string): void => void process.stderr.write(`bench: ${line}\n`);
  const rows: Row[] = [];
  const failures: string[] = [];
  const span = { warmupS: o.warmupS, windowS: o.windowS, dir };
  try {
    for (const tool of o.tools) {
      // One tool failing still leaves the others' figures worth printing.
      try {
        const row = await runTool(tool, o, { ...span, addresses, nodeArgs, here }, log);
        if (row !== undefined) rows.push(row);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        failures.push(`${tool} failed: ${message}`);
        log(`${tool} failed: ${message}`);
        await stopAll();
      }
    }
  } finally {
    clearTimeout(watchdog);
    await cleanup();
  }

  const command = ['node', 'dist/bench/icmp-load.js', ...process.argv.slice(2)].join(' ');
  const out = [
    `command: ${nodeArgs.length > 0 ? `NETPING_BENCH_NODE_ARGS='${nodeArgs.join(' ')}' ` : ''}${command}`,
    ...host,
    `warm-up ${o.warmupS} s, window ${o.windowS} s, interval 1 s, targets 127.100.0.1 onwards`,
    '',
    table(rows),
    '',
    ...rows.flatMap((r) => r.notes.map((n) => `- ${r.tool}: ${n}`)),
    ...verdict(rows).map((v) => `- ${v}`),
    ...failures.map((f) => `- ${f}`),
  ];
  process.stdout.write(out.join('\n') + '\n');
  if (failures.length > 0) process.exitCode = 1;
}

main().catch(async (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll();
  process.exit(1);
});
