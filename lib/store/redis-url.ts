// The forms --redis takes: ioredis's own redis:// and rediss:// URLs, and two
// of ours, since ioredis has no URL for Sentinel or Cluster:
//   redis+sentinel://[:password@]host:port[,host:port...]/MASTERNAME[/db]
//   redis+cluster://[:password@]host:port[,host:port...]
// Parsed by hand: WHATWG URLs take one host, not a list. Errors never echo
// the URL, which may hold a password.

import { InvalidInputError } from '../errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export type RedisTarget =
  | { readonly kind: 'single'; readonly url: string }
  | {
      readonly kind: 'sentinel';
      readonly sentinels: readonly HostPort[];
      readonly name: string;
      readonly password: string | undefined;
      readonly db: number;
    }
  | {
      readonly kind: 'cluster';
      readonly nodes: readonly HostPort[];
      readonly password: string | undefined;
    };

const FORMS =
  'redis://[user:password@]host[:port][/db], rediss://…, ' +
  'redis+sentinel://[:password@]host:port[,host:port...]/MASTERNAME[/db] or ' +
  'redis+cluster://[:password@]host:port[,host:port...]';

const MAX_HOSTS = 32;

export function parseRedisUrl(url: string): RedisTarget {
  const scheme = /^([a-z+]+):\/\//i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'redis' || scheme === 'rediss') {
    try {
      new URL(url);
    } catch {
      throw bad('not a URL');
    }
    return { kind: 'single', url };
  }
  if (scheme !== 'redis+sentinel' && scheme !== 'redis+cluster') {
    throw bad(scheme === undefined ? 'no scheme' : `unknown scheme ${scheme.slice(0, 20)}://`);
  }
  const rest = url.slice(scheme.length + 3);
  const slash = rest.indexOf('/');
  const authority = slash < 0 ? rest : rest.slice(0, slash);
  const path = slash < 0 ? '' : rest.slice(slash + 1);
  const at = authority.lastIndexOf('@');
  const password = at < 0 ? undefined : decodePassword(authority.slice(0, at));
  const hosts = parseHosts(at < 0 ? authority : authority.slice(at + 1));
  if (scheme === 'redis+cluster') {
    if (path !== '') throw bad('a cluster URL has no path: a cluster has only database 0');
    return { kind: 'cluster', nodes: hosts, password };
  }
  const [name, db, extra] = path.split('/');
  if (!name || !/^[A-Za-z0-9_.-]{1,64}$/.test(name) || extra !== undefined) {
    throw bad('a sentinel URL names the master: …/MASTERNAME[/db]');
  }
  if (db !== undefined && db !== '' && !/^\d{1,4}$/.test(db)) throw bad('the db is a number');
  return { kind: 'sentinel', sentinels: hosts, name, password, db: db ? Number(db) : 0 };
}

/** `[user]:password` before the @; only the password is used (ACL users: use redis://). */
function decodePassword(userinfo: string): string | undefined {
  const colon = userinfo.indexOf(':');
  const raw = colon < 0 ? userinfo : userinfo.slice(colon + 1);
  try {
    return raw === '' ? undefined : decodeURIComponent(raw);
  } catch {
    throw bad('the password is not percent-encoded properly');
  }
}

function parseHosts(list: string): HostPort[] {
  const parts = list.split(',');
  if (list === '' || parts.length > MAX_HOSTS) throw bad(`1 to ${MAX_HOSTS} host:port pairs`);
  return parts.map((part) => {
    const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9_.-]+)):(\d{1,5})$/.exec(part);
    const port = Number(m?.[3]);
    if (!m || port < 1 || port > 65535) throw bad('each host needs a port: host:port or [v6]:port');
    return { host: m[1] ?? m[2]!, port };
  });
}

function bad(why: string): InvalidInputError {
  return new InvalidInputError(`invalid Redis URL (${why}): expected ${FORMS}`);
}

/** The URL without its password, for messages and reports. */
export function redactUrl(url: string): string {
  const m = /^(redis\+(?:sentinel|cluster):\/\/)([^@/]*)@(.*)$/i.exec(url);
  if (m) {
    const userinfo = m[2]!;
    const colon = userinfo.indexOf(':');
    return `${m[1]}${colon < 0 ? '' : userinfo.slice(0, colon)}:***@${m[3]}`;
  }
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}
