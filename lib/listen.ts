import { isIPv6 } from 'node:net';
import { InvalidInputError } from './errors.js';
import { quoteInput } from './render/printable.js';

export interface ListenAddress {
  /** undefined: all addresses. */
  host: string | undefined;
  port: number;
}

/** "9922", ":9922", "127.0.0.1:9922", "[::1]:9922", "localhost:9922". */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d+)$/.exec(text) ?? /^()()(\d+)$/.exec(text);
  const port = Number(m?.[3]);
  const host = m?.[1] ?? m?.[2];
  if (!m || !Number.isInteger(port) || port < 0 || port > 65535 || (m[1] && !isIPv6(m[1]))) {
    throw new InvalidInputError(
      `invalid listen address ${quoteInput(text)}: use PORT, HOST:PORT or [IPV6]:PORT`,
    );
  }
  return { host: host === '' || host === undefined ? undefined : host, port };
}

export function formatListen(l: ListenAddress): string {
  const host = l.host === undefined ? '*' : isIPv6(l.host) ? `[${l.host}]` : l.host;
  return `${host}:${l.port}`;
}
