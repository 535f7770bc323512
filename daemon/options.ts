// netpingd's command line and environment, validated into one config.

import { hostname } from 'node:os';
import { Command, CommanderError, Option } from 'commander';
import { parseBoundedDurationMs } from '../lib/duration.js';
import { canonicalAddress, familyOf } from '../lib/address.js';
import {
  ICMP_TRANSPORT_CHOICES,
  type IcmpTransportChoice,
} from '../lib/probes/icmp/transport-choice.js';
import {
  UDP_TRANSPORT_CHOICES,
  type UdpTransportChoice,
} from '../lib/probes/udp/transport-choice.js';
import { InvalidInputError } from '../lib/errors.js';
import { labelsFrom, parseLabelList, type Labels } from '../lib/labels.js';
import { DEFAULT_MESH_PROBES, meshKindAvailable } from '../lib/mesh/mesh-targets.js';
import { MAX_ADVERTISED } from '../lib/mesh/registration.js';
import { DEFAULT_PAYLOAD_BYTES, MIN_PAYLOAD_BYTES } from '../lib/probes/icmp/packet.js';
import { DEFAULT_PEER_MAX_CHECKS, DEFAULT_PEER_MAX_RATE } from '../lib/probes/udp/peer-policy.js';
import { parseListen, type ListenAddress } from '../lib/listen.js';
import { defaultStateDir } from '../lib/state/state-dir.js';
import { keysFor, validateGroup, validateInstance, type Keys } from '../lib/store/keys.js';
import { parseRedisUrl } from '../lib/store/redis-url.js';
import { INTERVAL_BOUNDS_MS, TIMEOUT_BOUNDS_MS } from '../lib/target.js';
import { addDnsOptions, dnsConfig, type DnsConfig, type RawDnsOptions } from './dns-options.js';
import { VERSION } from '../lib/version.js';
import {
  addOutageOptions,
  outageConfig,
  type OutageConfig,
  type RawOutageOptions,
} from './outage-options.js';
import { addHistoryOptions, historyRetention, type RawHistoryOptions } from './history-options.js';
import type { HistoryRetention } from '../lib/history/retention.js';
import {
  addPathOptions,
  pathConfig,
  type PathConfig,
  type RawPathOptions,
} from './path-options.js';
import { quoteInput } from '../lib/render/printable.js';

export interface DaemonConfig {
  /** undefined: the embedded store in the state directory. */
  redisUrl: string | undefined;
  keys: Keys;
  instance: string;
  stateDir: string;
  listen: ListenAddress;
  intervalMs: number;
  timeoutMs: number;
  resyncMs: number;
  saveIntervalMs: number;
  forgetAfterMs: number;
  /** How long history is kept in the store (--history-minutes, --history-hours). */
  history: HistoryRetention;
  maxTargets: number;
  /** The most large pages made at once (the bound on heavy bodies, lib/http/body-gate.ts). */
  maxPages: number;
  payloadBytes: number;
  /** undefined: generated into the state directory on first start. */
  token: string | undefined;
  /** Whether protobuf scrapes also get netping_rtt_seconds's classic buckets beside the native ones. */
  classicBuckets: boolean;
  /** The secret netpingd peers share (udp probes and their answers); undefined: no peer role. */
  peerKey: Buffer | undefined;
  /** Where the peer responder listens, when there is a peer key. */
  peerListen: ListenAddress;
  /** The most answers the peer responder sends one source address per second. */
  peerMaxRate: number;
  peerMaxChecks: number;
  /** The most TCP probe connections in flight at once. */
  tcpMaxInFlight: number;
  /** The ICMP socket layer (`--icmp-transport`): auto, datagram, raw or raw-socket. */
  icmpTransport: IcmpTransportChoice;
  /** The UDP socket layer of udp probes and the peer responder (`--udp-transport`): auto, native or dgram. */
  udpTransport: UdpTransportChoice;
  /** The throughput responder grants at most this measured duration per direction. */
  throughputMaxDurationMs: number;
  /** ... and at most this many bytes per direction of a test. */
  throughputMaxBytes: number;
  /** What describes this instance (--label, NETPING_LABELS). */
  labels: Labels;
  /** The mesh of netpingd instances through Redis; undefined without --mesh. */
  mesh: MeshConfig | undefined;
  /** A group of daemons splitting the target set; undefined without --group. */
  group: GroupConfig | undefined;
  /** Outages and their alerts (--down-after, --up-after, --alertmanager, --quorum). */
  outages: OutageConfig;
  /** How the names of name@host members are followed in DNS. */
  dns: DnsConfig;
  /** Path tracing (--path-interval, --path-max-hops). */
  path: PathConfig;
}

export interface GroupConfig {
  readonly name: string;
  /** How often the registration is written and the members read. */
  readonly refreshMs: number;
  /** How long a registration outlives its last refresh: a killed member's targets move then. */
  readonly expiryMs: number;
}

export interface MeshConfig {
  /** Where peers should probe us; undefined: the addresses of the default routes' interfaces. */
  advertise: string[] | undefined;
  /** The probe kinds every peer is probed with. */
  probes: string[];
  /** How often the registration and the summary are written and the registry read. */
  refreshMs: number;
  /** How long a registration (and a summary) outlives its last refresh. */
  expiryMs: number;
}

interface RawOptions extends RawOutageOptions, RawDnsOptions, RawPathOptions, RawHistoryOptions {
  redis?: string;
  prefix: string;
  instance: string;
  stateDir: string;
  listen: string;
  interval: string;
  timeout: string;
  resync: string;
  saveInterval: string;
  forgetAfter: string;
  maxTargets: string;
  maxPages: string;
  payloadSize: string;
  token?: string;
  classicBuckets: boolean;
  peerKey?: string;
  peerListen: string;
  peerMaxRate: string;
  peerMaxChecks: string;
  tcpMaxInFlight: string;
  icmpTransport: string;
  udpTransport: string;
  throughputMaxDuration: string;
  throughputMaxBytes: string;
  label: string[];
  mesh?: boolean;
  advertise?: string;
  meshProbes?: string;
  meshRefresh: string;
  meshExpiry: string;
  group?: string;
  groupRefresh: string;
  groupExpiry: string;
}

/**
 * Parses argv (node, script, ...args) and NETPING_* variables; throws
 * InvalidInputError, or CommanderError for --help/--version.
 */
export function parseDaemonArgs(argv: readonly string[]): DaemonConfig {
  const program = new Command('netpingd')
    .description(
      'Pings every target, live; serves a table at / and Prometheus metrics at /metrics. ' +
        'Targets come from a Redis set (--redis) or, without Redis, from the state directory, ' +
        'changed through the control API (npcli).',
    )
    .version(VERSION)
    .exitOverride()
    .configureOutput({ outputError: () => {} }) // main prints errors, as one line
    .allowExcessArguments(false)
    .addOption(
      new Option(
        '--redis <url>',
        'take targets from this Redis (redis://, rediss://, redis+sentinel://, redis+cluster://; see README); default: embedded store',
      ).env('NETPING_REDIS_URL'),
    )
    .addOption(
      opt(
        '--prefix <prefix>',
        'prefix of every Redis key and channel',
        'NETPING_PREFIX',
        'netping',
      ),
    )
    .addOption(
      opt(
        '--instance <id>',
        'this daemon among several on one Redis: its statistics are kept under this id',
        'NETPING_INSTANCE',
        hostname(),
      ),
    )
    .addOption(
      opt(
        '--state-dir <dir>',
        'where state is kept: last known targets, statistics without Redis, the API token',
        'NETPING_STATE_DIR',
        defaultStateDir(),
      ),
    )
    .addOption(
      opt(
        '--listen <address>',
        'HTTP listen address: PORT, HOST:PORT or [IPV6]:PORT',
        'NETPING_LISTEN',
        '9922',
      ),
    )
    .addOption(
      opt(
        '--interval <duration>',
        'time between probes of a target (0.25, 250ms, 1s, 2m)',
        'NETPING_INTERVAL',
        '1s',
      ),
    )
    .addOption(
      opt(
        '--timeout <duration>',
        'a reply later than this is lost (and counted late)',
        'NETPING_TIMEOUT',
        '1s',
      ),
    )
    .addOption(
      opt('--resync <duration>', 're-read the whole target set this often', 'NETPING_RESYNC', '5s'),
    )
    .addOption(
      opt(
        '--save-interval <duration>',
        'save statistics this often (and at shutdown)',
        'NETPING_SAVE_INTERVAL',
        '5s',
      ),
    )
    .addOption(
      opt(
        '--forget-after <duration>',
        "drop a removed target's saved statistics after this long",
        'NETPING_FORGET_AFTER',
        '10m',
      ),
    )
    .addOption(
      opt(
        '--max-targets <n>',
        'refuse to probe more targets than this',
        'NETPING_MAX_TARGETS',
        '20000',
      ),
    )
    .addOption(
      opt(
        '--max-pages <n>',
        'make at most this many large pages at once (twice as many readers wait, the rest get 503)',
        'NETPING_MAX_PAGES',
        '4',
      ),
    )
    .addOption(
      opt(
        '--payload-size <bytes>',
        `ICMP payload bytes (${MIN_PAYLOAD_BYTES}-1400)`,
        'NETPING_PAYLOAD_SIZE',
        String(DEFAULT_PAYLOAD_BYTES),
      ),
    )
    .addOption(
      new Option(
        '--token <token>',
        'control API bearer token (default: generated into the state directory)',
      ).env('NETPING_TOKEN'),
    )
    // No .env(): commander would take any value of the variable, even 0, as
    // set; environmentFlag() reads it strictly instead.
    .addOption(
      new Option(
        '--no-classic-buckets',
        'protobuf scrapes get netping_rtt_seconds as a native histogram only, without its le buckets (env NETPING_NO_CLASSIC_BUCKETS=1)',
      ),
    )
    .addOption(
      new Option(
        '--peer-key <key>',
        'secret shared by netpingd peers: enables udp probes and the peer responder (16-256 printable characters; prefer the variable, which ps does not show)',
      ).env('NETPING_PEER_KEY'),
    )
    .addOption(
      opt(
        '--peer-listen <address>',
        'where the peer responder answers udp probes, with a peer key: PORT, HOST:PORT or [IPV6]:PORT',
        'NETPING_PEER_LISTEN',
        '9923',
      ),
    )
    .addOption(
      opt(
        '--peer-max-rate <n>',
        'the most udp probes the peer responder answers per second for one source address; the rest are dropped as peer:rate-limit',
        'NETPING_PEER_MAX_RATE',
        String(DEFAULT_PEER_MAX_RATE),
      ),
    )
    .addOption(
      opt(
        '--peer-max-checks <n>',
        'the most udp datagrams a second, from all sources together, whose MAC the peer responder checks; beyond it they are dropped unchecked as peer:budget (sources that proved the key in the last minute keep a quarter of it)',
        'NETPING_PEER_MAX_CHECKS',
        String(DEFAULT_PEER_MAX_CHECKS),
      ),
    )
    .addOption(
      opt(
        '--tcp-max-in-flight <n>',
        'the most tcp probe connections open at once; a probe beyond it is lost as send:in-flight-cap',
        'NETPING_TCP_MAX_IN_FLIGHT',
        '2048',
      ),
    )
    .addOption(
      opt(
        '--icmp-transport <kind>',
        'the ICMP socket layer: auto (datagram sockets where net.ipv4.ping_group_range admits us, else raw ones; both with kernel timestamps), datagram, raw, or raw-socket (the fallback, user-space timestamps)',
        'NETPING_ICMP_TRANSPORT',
        'auto',
      ),
    )
    .addOption(
      opt(
        '--udp-transport <kind>',
        "the UDP socket layer of udp probes and the peer responder: auto (our addon's sockets with kernel timestamps when it loads, else node's dgram), native, or dgram (user-space timestamps)",
        'NETPING_UDP_TRANSPORT',
        'auto',
      ),
    )
    .addOption(
      opt(
        '--throughput-max-duration <duration>',
        "the longest throughput test this daemon's responder runs, per direction (1s-60s)",
        'NETPING_THROUGHPUT_MAX_DURATION',
        '10s',
      ),
    )
    .addOption(
      opt(
        '--throughput-max-bytes <bytes>',
        "the most bytes this daemon's responder sends or takes per direction of a test (e.g. 500M, 2G)",
        'NETPING_THROUGHPUT_MAX_BYTES',
        '2G',
      ),
    )
    .addOption(
      new Option(
        '--label <key=value>',
        'describes this instance (repeatable; env NETPING_LABELS=dc=fra1,az=b); with --mesh its peers label its series with it',
      )
        .argParser((v: string, previous: string[] | undefined) => [...(previous ?? []), v])
        .default([]),
    )
    .addOption(
      new Option(
        '--mesh',
        'join the mesh of netpingd instances on this Redis: register, and probe every other live instance (needs --redis; env NETPING_MESH=1)',
      ),
    )
    .addOption(
      new Option(
        '--advertise <addr,...>',
        'with --mesh: the addresses peers probe (default: those of the interfaces holding the default routes)',
      ).env('NETPING_ADVERTISE'),
    )
    .addOption(
      new Option(
        '--mesh-probes <kinds>',
        `with --mesh: the probe kinds peers are probed with, from icmp,udp,tcp (default ${DEFAULT_MESH_PROBES.join(',')})`,
      ).env('NETPING_MESH_PROBES'),
    )
    .addOption(
      opt(
        '--mesh-refresh <duration>',
        'with --mesh: re-register, re-read the registry and write the summary this often',
        'NETPING_MESH_REFRESH',
        '5s',
      ),
    )
    .addOption(
      opt(
        '--mesh-expiry <duration>',
        'with --mesh: how long a registration outlives its last refresh (a dead instance leaves then)',
        'NETPING_MESH_EXPIRY',
        '20s',
      ),
    )
    .addOption(
      new Option(
        '--group <name>',
        "share the target set with the other live daemons of this group on this Redis: each probes its share (rendezvous hashing), a dead member's share moves to the others (needs --redis)",
      ).env('NETPING_GROUP'),
    )
    .addOption(
      opt(
        '--group-refresh <duration>',
        'with --group: re-register and re-read the members this often',
        'NETPING_GROUP_REFRESH',
        '2s',
      ),
    )
    .addOption(
      opt(
        '--group-expiry <duration>',
        "with --group: how long a registration outlives its last refresh (a killed member's targets move then)",
        'NETPING_GROUP_EXPIRY',
        '8s',
      ),
    );
  addOutageOptions(program);
  addDnsOptions(program);
  addPathOptions(program);
  addHistoryOptions(program);
  try {
    program.parse([...argv], { from: 'node' });
  } catch (err) {
    if (
      err instanceof CommanderError &&
      (err.code === 'commander.helpDisplayed' || err.code === 'commander.version')
    ) {
      throw err;
    }
    if (err instanceof CommanderError)
      throw new InvalidInputError(err.message.replace(/^error: /, ''));
    throw err;
  }
  const o = program.opts<RawOptions>();
  const redisUrl = o.redis ? validateRedisUrl(o.redis) : undefined;
  const labels = {
    ...parseLabelList(process.env.NETPING_LABELS ?? ''),
    ...labelsFrom(o.label),
  };
  return {
    // Empty means unset, so a service manager can pass an empty variable.
    redisUrl,
    keys: keysFor(o.prefix),
    instance: validateInstance(o.instance),
    stateDir: o.stateDir,
    listen: parseListen(o.listen),
    intervalMs: parseBoundedDurationMs(o.interval, 'interval', ...INTERVAL_BOUNDS_MS),
    timeoutMs: parseBoundedDurationMs(o.timeout, 'timeout', ...TIMEOUT_BOUNDS_MS),
    resyncMs: parseBoundedDurationMs(o.resync, 'resync period', 100, 3_600_000),
    saveIntervalMs: parseBoundedDurationMs(o.saveInterval, 'save interval', 100, 3_600_000),
    forgetAfterMs: parseBoundedDurationMs(o.forgetAfter, 'forget-after period', 1, 30 * 86_400_000),
    history: historyRetention(o),
    maxTargets: wholeNumber(o.maxTargets, 'target limit', 1, 1_000_000),
    maxPages: wholeNumber(o.maxPages, 'page limit', 1, 1000),
    payloadBytes: wholeNumber(o.payloadSize, 'payload size', MIN_PAYLOAD_BYTES, 1400),
    token: validateToken(o.token),
    classicBuckets: o.classicBuckets && !environmentFlag('NETPING_NO_CLASSIC_BUCKETS', process.env),
    peerKey: validatePeerKey(o.peerKey),
    peerListen: parseListen(o.peerListen),
    peerMaxRate: wholeNumber(o.peerMaxRate, 'peer answer rate', 1, 1_000_000),
    peerMaxChecks: wholeNumber(o.peerMaxChecks, 'peer check budget', 1, 10_000_000),
    tcpMaxInFlight: wholeNumber(o.tcpMaxInFlight, 'TCP in-flight limit', 1, 60_000),
    icmpTransport: choiceOf(o.icmpTransport, ICMP_TRANSPORT_CHOICES, 'ICMP transport'),
    udpTransport: choiceOf(o.udpTransport, UDP_TRANSPORT_CHOICES, 'UDP transport'),
    throughputMaxDurationMs: parseBoundedDurationMs(
      o.throughputMaxDuration,
      'throughput max duration',
      1000,
      60_000,
    ),
    throughputMaxBytes: byteCount(o.throughputMaxBytes, 'throughput byte cap', 1e6, 1e12),
    labels: labelsFrom(Object.entries(labels).map(([k, v]) => `${k}=${v}`)),
    mesh: meshConfig(o, redisUrl),
    group: groupConfig(o, redisUrl),
    outages: outageConfig(o, process.env),
    dns: dnsConfig(o),
    path: pathConfig(o),
  };
}

function groupConfig(o: RawOptions, redisUrl: string | undefined): GroupConfig | undefined {
  // Empty means unset, as for the other variables.
  if (o.group === undefined || o.group === '') return undefined;
  const name = validateGroup(o.group);
  if (redisUrl === undefined) {
    throw new InvalidInputError(
      '--group needs --redis URL: the members of a group find each other, and share statistics, in Redis',
    );
  }
  const refreshMs = parseBoundedDurationMs(o.groupRefresh, 'group refresh', 100, 60_000);
  const expiryMs = parseBoundedDurationMs(o.groupExpiry, 'group expiry', 300, 600_000);
  if (expiryMs < 2 * refreshMs) {
    throw new InvalidInputError(
      `invalid group expiry ${expiryMs} ms: at least twice the refresh (${refreshMs} ms), or a live member would flicker out`,
    );
  }
  return { name, refreshMs, expiryMs };
}

function meshConfig(o: RawOptions, redisUrl: string | undefined): MeshConfig | undefined {
  // No .env() on --mesh: commander would take any value, even 0, as set.
  const on = o.mesh === true || environmentFlag('NETPING_MESH', process.env);
  if (!on) return undefined;
  if (redisUrl === undefined) {
    throw new InvalidInputError(
      '--mesh needs --redis URL: instances find each other in Redis (there is no mesh with the embedded store)',
    );
  }
  const refreshMs = parseBoundedDurationMs(o.meshRefresh, 'mesh refresh', 100, 60_000);
  const expiryMs = parseBoundedDurationMs(o.meshExpiry, 'mesh expiry', 300, 600_000);
  if (expiryMs < 2 * refreshMs) {
    throw new InvalidInputError(
      `invalid mesh expiry ${expiryMs} ms: at least twice the refresh (${refreshMs} ms), or a live instance would flicker out`,
    );
  }
  return {
    advertise: o.advertise ? parseAdvertise(o.advertise) : undefined,
    probes: o.meshProbes
      ? parseMeshProbes(o.meshProbes)
      : DEFAULT_MESH_PROBES.filter(meshKindAvailable),
    refreshMs,
    expiryMs,
  };
}

function parseAdvertise(text: string): string[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (list.length === 0 || list.length > MAX_ADVERTISED) {
    throw new InvalidInputError(
      `invalid --advertise: 1 to ${MAX_ADVERTISED} addresses, comma-separated`,
    );
  }
  return list.map((a) => {
    if (familyOf(a) === undefined || a.includes('%')) {
      throw new InvalidInputError(
        `invalid --advertise address ${quoteInput(a)}: an IPv4 or IPv6 address without a zone`,
      );
    }
    return canonicalAddress(a);
  });
}

const MESH_KINDS = ['icmp', 'udp', 'tcp'];

function parseMeshProbes(text: string): string[] {
  const kinds = [
    ...new Set(
      text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== ''),
    ),
  ];
  if (kinds.length === 0)
    throw new InvalidInputError('invalid --mesh-probes: name at least one kind');
  for (const kind of kinds) {
    if (!MESH_KINDS.includes(kind)) {
      throw new InvalidInputError(
        `invalid --mesh-probes kind ${quoteInput(kind, 20)}: expected some of ${MESH_KINDS.join(',')}`,
      );
    }
    if (!meshKindAvailable(kind)) {
      throw new InvalidInputError(`invalid --mesh-probes: this netpingd has no ${kind} probes`);
    }
  }
  return kinds;
}

/** A yes/no variable: 1/true/yes/on or 0/false/no/off, unset and empty meaning no. */
export function environmentFlag(name: string, env: NodeJS.ProcessEnv): boolean {
  const value = (env[name] ?? '').trim().toLowerCase();
  if (['', '0', 'false', 'no', 'off'].includes(value)) return false;
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  throw new InvalidInputError(`invalid ${name} ${quoteInput(env[name] ?? '')}: use 1 or 0`);
}

function choiceOf<T extends string>(text: string, choices: readonly T[], what: string): T {
  const found = choices.find((c) => c === text);
  if (!found) throw new InvalidInputError(`invalid ${what} '${text}': use ${choices.join(', ')}`);
  return found;
}

function opt(flags: string, description: string, envName: string, fallback: string): Option {
  return new Option(flags, description).env(envName).default(fallback);
}

function wholeNumber(text: string, what: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) {
    throw new InvalidInputError(
      `invalid ${what} ${quoteInput(text)}: a whole number from ${min} to ${max}`,
    );
  }
  return n;
}

/** "500M", "2G", "1000000": decimal units (k, M, G, T), as link rates are counted. */
export function byteCount(text: string, what: string, min: number, max: number): number {
  const m = /^(\d+(?:\.\d+)?)([kMGT]?)$/.exec(text.trim());
  const unit = { '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m?.[2] ?? ''] ?? 1;
  const n = m ? Math.round(Number(m[1]) * unit) : NaN;
  if (!(n >= min && n <= max)) {
    throw new InvalidInputError(
      `invalid ${what} ${quoteInput(text)}: bytes from ${min / 1e6}M to ${max / 1e12}T, e.g. 500M or 2G`,
    );
  }
  return n;
}

/** A peer key is a secret: at least 16 printable characters, never echoed. */
export function validatePeerKey(key: string | undefined): Buffer | undefined {
  if (key === undefined || key === '') return undefined;
  if (!/^[\x21-\x7e]{16,256}$/.test(key)) {
    throw new InvalidInputError(
      'invalid peer key: use 16-256 printable ASCII characters, no spaces',
    );
  }
  return Buffer.from(key, 'utf8');
}

function validateToken(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  if (!/^[\x21-\x7e]{16,256}$/.test(token)) {
    throw new InvalidInputError('invalid token: use 16-256 printable ASCII characters, no spaces');
  }
  return token;
}

/** Checks a --redis URL (any form of lib/store/redis-url.ts); returns it unchanged. */
export function validateRedisUrl(url: string): string {
  parseRedisUrl(url);
  return url;
}
