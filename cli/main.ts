#!/usr/bin/env node
// npcli: parses, dispatches, prints, and is the only place that exits.

import { Command, CommanderError, Option } from 'commander';
import { validateRedisUrl } from '../daemon/options.js';
import {
  describeError,
  exitCodeOf,
  ExitCode,
  InvalidInputError,
  StoreUnavailableError,
} from '../lib/errors.js';
import { defaultStateDir } from '../lib/state/state-dir.js';
import { readToken, tokenPath } from '../lib/state/token.js';
import { HttpTargetStore } from '../lib/store/http-store.js';
import { keysFor, validateGroup, validateInstance } from '../lib/store/keys.js';
import { groupReports } from '../lib/group/group-report.js';
import { readMembers } from '../lib/group/member.js';
import { RedisTargetStore, redactUrl } from '../lib/store/redis-store.js';
import { savedReport, type SavedReport } from '../lib/saved-report.js';
import type { TargetStore } from '../lib/store/target-store.js';
import {
  addTargets,
  listTargets,
  NoSuchTargetError,
  removeTargets,
} from '../lib/target-changes.js';
import { VERSION } from '../lib/version.js';
import { parseBoundedDurationMs } from '../lib/duration.js';
import { checkDnsServers, lookupFrom, nameResolver } from '../lib/resolve.js';
import { probeKind } from '../lib/probes/kinds.js';
import {
  INTERVAL_BOUNDS_MS,
  makeProbeSpec,
  parseSchedule,
  TIMEOUT_BOUNDS_MS,
  type ProbeOverrides,
  type ProbeSpec,
} from '../lib/target.js';
import { labelsFrom, validateLabelName } from '../lib/labels.js';
import { MESH_WINDOW_MS } from '../lib/mesh/summary.js';
import { readMesh } from '../lib/mesh/read.js';
import { meshJson, meshText } from '../lib/mesh/views.js';
import { renderChanges, renderList, renderStats, roundedReport } from './render.js';
import { renderSavedStats } from './render-saved.js';
import { renderEvents } from './render-events.js';
import { overlapsSince } from '../lib/outages/outage.js';
import {
  EVENT_KINDS,
  kindOf,
  latestEvents,
  parseEvent,
  type EventKind,
  type NetpingEvent,
} from '../lib/outages/events.js';
import { parseSince } from '../lib/http/events-api.js';
import { pathText, type PathJson } from '../lib/path/path-report.js';
import { printable, printableLine, quoteInput } from '../lib/render/printable.js';

interface GlobalOptions {
  redis?: string;
  prefix: string;
  url: string;
  token?: string;
  stateDir?: string;
}

/** Names read from Redis keys, for a message: the first 20, each printable. */
function namesIn(names: readonly string[]): string {
  return names.slice(0, 20).map(printable).join(', ') || 'none';
}

function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
}

function json(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * With --redis (or NETPING_REDIS_URL), npcli writes the Redis set itself;
 * otherwise it asks the daemon at --url, whose token it reads from the state
 * directory it shares with the daemon on this host, or takes from --token.
 */
function openStore(opts: GlobalOptions): TargetStore {
  if (opts.redis) {
    return new RedisTargetStore({
      url: validateRedisUrl(opts.redis),
      keys: keysFor(opts.prefix),
      mode: 'cli',
    });
  }
  const file = tokenPath(opts.stateDir ?? defaultStateDir());
  let token = opts.token;
  if (token === undefined) {
    try {
      token = readToken(file);
    } catch {
      // Not readable by this user: the daemon will say 401 and we say why.
    }
  }
  const hint =
    opts.token !== undefined
      ? 'check --token'
      : `give --token, or run npcli as a user who can read ${file}`;
  return new HttpTargetStore(opts.url, token, hint);
}

async function withStore<T>(
  opts: GlobalOptions,
  run: (store: TargetStore) => Promise<T>,
): Promise<T> {
  const store = openStore(opts);
  try {
    // The store connects on its first command, after the arguments are checked.
    return await run(store);
  } finally {
    await store.close();
  }
}

interface ProbeFlags {
  probe?: string;
  port?: string;
}

/** --probe and --port as a checked spec, or undefined when neither is given. */
function probeFromFlags(o: ProbeFlags): ProbeSpec | undefined {
  if (o.probe === undefined && o.port === undefined) return undefined;
  if (o.probe === undefined) throw new InvalidInputError('--port needs --probe (tcp or udp)');
  return makeProbeSpec(o.probe, o.port);
}

const PROBE_HELP =
  'probe these targets by KIND: icmp (default), tcp (needs --port), udp or throughput';
const PORT_HELP = 'the port of a tcp, udp or throughput probe (udp, throughput: default 9923)';

interface AddFlags extends ProbeFlags {
  json?: boolean;
  pin?: boolean;
  dnsServer?: string;
  interval?: string;
  timeout?: string;
  every?: string;
  duration?: string;
  label?: string[];
}

/** add's --interval/--timeout or --every/--duration, checked against --probe's kind. */
function overridesFromFlags(o: AddFlags, probe: ProbeSpec | undefined): ProbeOverrides {
  const scheduled = o.every !== undefined || o.duration !== undefined;
  if (scheduled && probe === undefined) {
    throw new InvalidInputError('--every and --duration need --probe throughput');
  }
  const kind = probe?.kind ?? 'icmp';
  const hasSchedule = probeKind(kind)?.schedule !== undefined;
  if (hasSchedule && (o.interval !== undefined || o.timeout !== undefined)) {
    throw new InvalidInputError(
      `--interval and --timeout do not apply to ${kind} targets: they take --every and --duration`,
    );
  }
  if (scheduled && !hasSchedule) {
    throw new InvalidInputError(
      `--every and --duration apply to throughput targets only, not to ${kind} ones`,
    );
  }
  return {
    ...(o.interval === undefined
      ? {}
      : { intervalMs: parseBoundedDurationMs(o.interval, 'interval', ...INTERVAL_BOUNDS_MS) }),
    ...(o.timeout === undefined
      ? {}
      : { timeoutMs: parseBoundedDurationMs(o.timeout, 'timeout', ...TIMEOUT_BOUNDS_MS) }),
    ...parseSchedule(kind, o.every, o.duration),
  };
}

function buildProgram(): Command {
  const program = new Command('npcli')
    .description('Controls netpingd: add and remove targets, list them, show statistics.')
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: () => {} }) // errors are printed once, by main, as one line
    .showHelpAfterError(false)
    .addOption(
      new Option(
        '--redis <url>',
        'write the Redis target set itself (default: ask the daemon at --url)',
      ).env('NETPING_REDIS_URL'),
    )
    .addOption(
      new Option('--prefix <prefix>', 'prefix of every Redis key and channel')
        .env('NETPING_PREFIX')
        .default('netping'),
    )
    .addOption(
      new Option('--url <url>', 'netpingd HTTP address')
        .env('NETPING_URL')
        .default('http://127.0.0.1:9922'),
    )
    .addOption(
      new Option(
        '--token <token>',
        "the daemon's control API token (default: read it from the state directory)",
      ).env('NETPING_TOKEN'),
    )
    .addOption(
      new Option('--state-dir <dir>', "the daemon's state directory, where its token is").env(
        'NETPING_STATE_DIR',
      ),
    );
  const global = (): GlobalOptions => program.opts<GlobalOptions>();

  program
    .command('add')
    .description(
      'add targets: name@address, address, host name or name@host (netpingd follows the name in DNS and probes every address it has; --pin stores the addresses instead)',
    )
    .argument('<target...>')
    .option(
      '--interval <duration>',
      "probe these targets this often instead of at the daemon's interval",
    )
    .option('--timeout <duration>', "this timeout for these targets instead of the daemon's")
    .option(
      '--label <key=value>',
      "a label for these targets' series (repeatable; also label.KEY=VALUE in a member)",
      (v: string, previous: string[] = []) => [...previous, v],
    )
    .option('--probe <kind>', PROBE_HELP)
    .option('--port <port>', PORT_HELP)
    .option('--pin', "store a host's addresses as they resolve now, not the name to follow")
    .addOption(
      new Option(
        '--dns-server <servers>',
        'check host names at these DNS servers (ADDRESS[:PORT], comma-separated; default: the system lookup)',
      ).env('NETPING_DNS_SERVER'),
    )
    .option('--every <duration>', 'throughput: time between tests (default 15m)')
    .option('--duration <duration>', 'throughput: how long each direction is measured (default 5s)')
    .option('--json', 'print JSON')
    .action(async (targets: string[], o: AddFlags) => {
      const labels = labelsFrom(o.label ?? []);
      const probe = probeFromFlags(o);
      const overrides = overridesFromFlags(o, probe);
      const dnsServers =
        o.dnsServer === undefined || o.dnsServer.trim() === ''
          ? undefined
          : checkDnsServers(o.dnsServer.split(',').map((s) => s.trim()));
      const results = await withStore(global(), (store) =>
        addTargets(store, targets, {
          ...(Object.keys(overrides).length > 0 ? { overrides } : {}),
          ...(probe ? { probe } : {}),
          labels,
          pin: o.pin === true,
          ...(dnsServers ? { lookup: lookupFrom(nameResolver({ servers: dnsServers })) } : {}),
        }),
      );
      print(o.json ? json(results) : renderChanges('added', results));
    });
  program
    .command('remove')
    .alias('rm')
    .description(
      'remove targets by name, by address, or by name@address (?probe=KIND&port=N picks one probe kind)',
    )
    .argument('<target...>')
    .option('--all', 'remove every target a name or address matches (default: refuse if several)')
    .option('--probe <kind>', 'only the targets probed by KIND (icmp, tcp, udp)')
    .option('--port <port>', 'with --probe: only those probed at this port')
    .option('--json', 'print JSON')
    .action(async (targets: string[], o: { json?: boolean; all?: boolean } & ProbeFlags) => {
      const probe = probeFromFlags(o);
      const results = await withStore(global(), (store) =>
        removeTargets(store, targets, { all: o.all === true, ...(probe ? { probe } : {}) }),
      );
      print(o.json ? json(results) : renderChanges('removed', results));
    });
  program
    .command('list')
    .alias('ls')
    .description('the targets the daemon is told to ping')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean }) => {
      const list = await withStore(global(), listTargets);
      print(o.json ? json(list) : renderList(list));
    });
  program
    .command('stats')
    .description(
      "statistics per target: with --redis, each instance's as saved in Redis; otherwise the daemon's at --url",
    )
    .option('--instance <id>', 'with --redis: only this instance (default: every instance)')
    .option(
      '--group <name>',
      "with --redis: only this group's targets, by owner (default: every instance and group)",
    )
    .option('--wide', 'every column, and names uncut (default: what fits 80 columns)')
    .option('--json', 'print JSON (times rounded to the microsecond)')
    .action(async (o: { json?: boolean; wide?: boolean; instance?: string; group?: string }) => {
      const opts = global();
      if (opts.redis) {
        if (o.instance !== undefined && o.group !== undefined) {
          throw new InvalidInputError('give --instance or --group, not both');
        }
        const saved = await redisStats(opts.redis, opts.prefix, o.instance, o.group);
        const savedAt = (s: SavedReport): string | null =>
          s.savedAt === undefined ? null : new Date(s.savedAt).toISOString();
        print(
          o.json
            ? json({
                instances: saved
                  .filter((s) => s.group === undefined)
                  .map((s) => ({
                    instance: s.instance,
                    savedAt: savedAt(s),
                    ...roundedReport(s.report),
                  })),
                groups: saved
                  .filter((s) => s.group !== undefined)
                  .map((s) => ({
                    group: s.group,
                    owner: s.owner ?? null,
                    savedAt: savedAt(s),
                    ...roundedReport(s.report),
                  })),
              })
            : renderSavedStats(saved, { wide: o.wide === true, now: Date.now() }),
        );
        return;
      }
      if (o.instance !== undefined || o.group !== undefined) {
        throw new InvalidInputError(
          '--instance and --group need --redis: a daemon at --url is one instance',
        );
      }
      const report = await new HttpTargetStore(opts.url, undefined, '').report();
      print(o.json ? json(roundedReport(report)) : renderStats(report, { wide: o.wide === true }));
    });
  program
    .command('events')
    .description(
      "outages and route changes, newest first: with --redis, every instance's as kept in Redis; otherwise the daemon's at --url",
    )
    .option('--open', 'only outages still open')
    .addOption(new Option('--kind <kind>', 'only events of this kind').choices(EVENT_KINDS))
    .option(
      '--since <time>',
      'only outages open at or after this: an ISO time or a duration ago (1h)',
    )
    .option('--target <name>', 'only this target (a name or name@address)')
    .option('--json', 'print JSON')
    .action(
      async (o: {
        json?: boolean;
        open?: boolean;
        since?: string;
        target?: string;
        kind?: EventKind;
      }) => {
        const events = await readEvents(global(), o);
        print(o.json ? json({ events }) : renderEvents(events, Date.now()));
      },
    );
  program
    .command('path')
    .description(
      "trace a target's path now, through the daemon at --url: hops, their loss and median RTT, path MTU, route changes",
    )
    .argument('<target>', 'an icmp target: a name or name@address')
    .option('--json', 'print JSON')
    .action(async (selector: string, o: { json?: boolean }) => {
      const opts = global();
      const body = await new HttpTargetStore(opts.url, undefined, '').path(selector);
      const p = checkedPathJson(body, opts.url);
      print(o.json ? json(p) : pathText(p, Date.now() / 1000));
    });
  program
    .command('mesh')
    .description(
      'the mesh of netpingd instances (--mesh) on this Redis: loss and median RTT, rows from, columns to',
    )
    .option('--group-by <label>', 'collapse instances to the values of this label (e.g. dc)')
    .option('--json', 'print JSON')
    .action(async (o: { json?: boolean; groupBy?: string }) => {
      const opts = global();
      if (!opts.redis) {
        throw new InvalidInputError(
          'npcli mesh reads the mesh from Redis: give --redis URL (or NETPING_REDIS_URL)',
        );
      }
      const view = { groupBy: o.groupBy, windowMs: MESH_WINDOW_MS };
      if (o.groupBy !== undefined) validateLabelName(o.groupBy);
      const store = new RedisTargetStore({
        url: validateRedisUrl(opts.redis),
        keys: keysFor(opts.prefix),
        mode: 'cli',
      });
      try {
        const state = await readMesh(store, keysFor(opts.prefix));
        print(o.json ? json(meshJson(state, view)) : meshText(state, view));
      } finally {
        await store.close();
      }
    });
  return program;
}

/**
 * Each instance's saved statistics in Redis, then each group's split by
 * owner (or only `instance`'s, or only `group`'s).
 */
/** /api/path's answer, checked enough that rendering it cannot throw. */
function checkedPathJson(body: unknown, url: string): PathJson {
  const p = body as Partial<PathJson> | null;
  if (
    typeof p !== 'object' ||
    p === null ||
    typeof p.target !== 'string' ||
    !Array.isArray(p.hops) ||
    typeof p.changes !== 'number'
  )
    throw new StoreUnavailableError(`netpingd at ${url} sent no path`);
  return p as PathJson;
}

/** Events read from a daemon's /api/events, or from every instance's stream with --redis. */
async function readEvents(
  opts: GlobalOptions,
  o: { open?: boolean; since?: string; target?: string; kind?: EventKind },
): Promise<NetpingEvent[]> {
  let events: NetpingEvent[];
  if (opts.redis) {
    const store = new RedisTargetStore({
      url: validateRedisUrl(opts.redis),
      keys: keysFor(opts.prefix),
      mode: 'cli',
    });
    try {
      const keys = (await store.scanKeys(keysFor(opts.prefix).outagesPattern)).slice(0, 1000);
      const records: string[] = [];
      for (const key of keys) records.push(...(await store.outagesIn(key, EVENTS_PER_INSTANCE)));
      // Each stream is newest first; an id lives in one stream, so folding them in turn is right.
      events = latestEvents(records).events;
    } finally {
      await store.close();
    }
  } else {
    const body = (await new HttpTargetStore(opts.url, undefined, '').events()) as {
      events?: unknown;
    };
    if (!Array.isArray(body.events))
      throw new StoreUnavailableError(`netpingd at ${opts.url} sent no event list`);
    events = body.events.map((e) => parseEvent(JSON.stringify(e)));
  }
  const sinceMs = o.since === undefined ? undefined : parseSince(o.since, Date.now());
  return events.filter(
    (e) =>
      (!o.open || e.end === null) &&
      (o.kind === undefined || kindOf(e) === o.kind) &&
      (o.target === undefined || e.target === o.target || e.key === o.target) &&
      (sinceMs === undefined || overlapsSince(e, sinceMs)),
  );
}

const EVENTS_PER_INSTANCE = 2_000;

async function redisStats(
  url: string,
  prefix: string,
  instance: string | undefined,
  group: string | undefined,
): Promise<SavedReport[]> {
  const keys = keysFor(prefix);
  if (instance !== undefined) validateInstance(instance);
  if (group !== undefined) validateGroup(group);
  const store = new RedisTargetStore({ url: validateRedisUrl(url), keys, mode: 'cli' });
  const location = { kind: 'redis' as const, location: redactUrl(url), up: true };
  try {
    const all = (await store.scanKeys(keys.statsPattern)).map((k) =>
      k.slice(keys.stats('').length),
    );
    const groupStats = keys.group('').stats;
    const groups = (await store.scanKeys(`${groupStats}*`)).map((k) => k.slice(groupStats.length));
    const chosen =
      group !== undefined ? [] : all.filter((i) => instance === undefined || i === instance);
    const chosenGroups =
      instance !== undefined ? [] : groups.filter((g) => group === undefined || g === group);
    if (chosen.length === 0 && chosenGroups.length === 0) {
      throw new NoSuchTargetError(
        instance !== undefined
          ? `no statistics of instance ${quoteInput(instance)} in this Redis (instances: ${namesIn(all)})`
          : group !== undefined
            ? `no statistics of group ${quoteInput(group)} in this Redis (groups: ${namesIn(groups)})`
            : `no instance or group has saved statistics under prefix ${quoteInput(prefix)} in this Redis`,
      );
    }
    const out: SavedReport[] = [];
    for (const id of chosen) {
      out.push(
        savedReport(id, await store.hashEntries(keys.stats(id)), location, VERSION, new Date()),
      );
    }
    for (const name of chosenGroups) {
      const gkeys = keys.group(name);
      const members = (await readMembers(store, gkeys)).map((m) => m.id);
      const entries = await store.hashEntries(gkeys.stats);
      out.push(...groupReports(name, entries, members, location, VERSION, new Date()));
    }
    return out;
  } finally {
    await store.close();
  }
}

async function main(): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') {
        process.exit(ExitCode.ok);
      }
      // `npcli help [command]` asked for help (exit 0); no command at all is
      // a usage error, and commander has printed the usage to stderr (exit 1).
      if (err.code === 'commander.help')
        process.exit(err.exitCode === 0 ? ExitCode.ok : ExitCode.usage);
      throw new InvalidInputError(err.message.replace(/^error: /, ''));
    }
    throw err;
  }
}

/** Exits once stdout is written out: a pipe takes a large report (over 64 kB) in several turns. */
function exitAfterOutput(code: number): void {
  process.stdout.write('', () => process.exit(code));
}

main().then(
  () => exitAfterOutput(ExitCode.ok),
  (err: unknown) => {
    process.stderr.write(`npcli: ${printableLine(describeError(err))}\n`);
    process.exit(exitCodeOf(err));
  },
);
