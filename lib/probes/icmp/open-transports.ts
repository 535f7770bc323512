// Which ICMP transport netpingd runs on, decided once at start: our addon's
// datagram sockets (no privilege: net.ipv4.ping_group_range), else its raw
// sockets filtered in the kernel (CAP_NET_RAW), else raw-socket when the
// addon did not build. Both addon transports stamp with the kernel's clock.

import { randomInt } from 'node:crypto';
import type { Family } from '../../address.js';
import { PermissionError } from '../../errors.js';
import { SendError } from '../prober.js';
import { loadNativeSockets, type NativeSockets } from './native-sockets.js';
import { NativeIcmpTransport, type NativeMode } from './native-transport.js';
import type { IcmpTransportChoice } from './transport-choice.js';
import type { IcmpTransport } from './transport.js';

export interface IcmpTransportInfo {
  /** `datagram`, `raw` or `raw-socket`. */
  readonly transport: string;
  /** `kernel` or `user-space`: where receive stamps come from. */
  readonly clock: string;
  /** The start line: `icmp: datagram sockets, kernel timestamps`. */
  readonly line: string;
}

export interface OpenedIcmpTransports {
  readonly transports: Partial<Record<Family, IcmpTransport>>;
  readonly identifier: number;
  readonly info: IcmpTransportInfo;
}

export const NO_ICMP_PERMISSION =
  'ICMP sockets need one of two things: ' +
  "net.ipv4.ping_group_range admitting this process's group for datagram sockets, no privilege at all " +
  "(sysctl -w net.ipv4.ping_group_range='0 2147483647'), " +
  'or CAP_NET_RAW for raw sockets: run as root, or ' +
  "'sudo setcap cap_net_raw+ep $(readlink -f $(which node))', or use the systemd unit in systemd/";

const BIND_ATTEMPTS = 16; // a datagram identifier is a port: another pinger may hold ours

export async function openIcmpTransports(
  choice: IcmpTransportChoice,
  log: (line: string) => void,
): Promise<OpenedIcmpTransports> {
  if (choice === 'raw-socket') return rawSocket('forced', log);
  const native = loadNativeSockets();
  if (!native.ok) {
    if (choice !== 'auto')
      throw new SendError('ENOADDON', `--icmp-transport ${choice}: ${native.reason}`);
    return rawSocket(`fallback: ${native.reason}`, log);
  }
  const modes: NativeMode[] = choice === 'auto' ? ['datagram', 'raw'] : [choice];
  let refused: unknown;
  for (const mode of modes) {
    try {
      return openNative(native.sockets, mode, log);
    } catch (err) {
      if (!isPermission(err)) throw err;
      refused = err;
    }
  }
  throw new PermissionError(NO_ICMP_PERMISSION, { cause: refused });
}

/** raw-socket, loaded only here: with the addon working, its native code never loads. */
async function rawSocket(why: string, log: (line: string) => void): Promise<OpenedIcmpTransports> {
  const { openRawTransports } = await import('./raw-transport.js');
  let transports: Partial<Record<Family, IcmpTransport>>;
  try {
    transports = openRawTransports(log);
  } catch (err) {
    if (err instanceof PermissionError)
      throw new PermissionError(NO_ICMP_PERMISSION, { cause: err });
    throw err;
  }
  return {
    transports,
    identifier: randomInt(0x10000),
    info: {
      transport: 'raw-socket',
      clock: 'user-space',
      line: `icmp: raw-socket (${why}), user-space timestamps`,
    },
  };
}

function openNative(
  native: NativeSockets,
  mode: NativeMode,
  log: (line: string) => void,
): OpenedIcmpTransports {
  for (let attempt = 1; ; attempt++) {
    // Datagram sockets bind to the identifier; 0 is "any port", not ours to ask for.
    const identifier = 1 + randomInt(0xffff);
    let v4: NativeIcmpTransport | undefined;
    try {
      v4 = new NativeIcmpTransport(native, 4, mode, identifier);
      const transports: Partial<Record<Family, IcmpTransport>> = { 4: v4 };
      try {
        transports[6] = new NativeIcmpTransport(native, 6, mode, identifier);
      } catch (err) {
        if (isPermission(err) || codeOf(err) === 'EADDRINUSE') throw err;
        // A host without IPv6: IPv6 targets are still accepted and show as failed sends.
        log(`no IPv6: ${err instanceof Error ? err.message : String(err)}`);
      }
      const what =
        mode === 'datagram' ? 'datagram sockets' : 'raw sockets filtered on our identifier';
      return {
        transports,
        identifier,
        info: { transport: mode, clock: 'kernel', line: `icmp: ${what}, kernel timestamps` },
      };
    } catch (err) {
      v4?.close();
      if (codeOf(err) !== 'EADDRINUSE' || attempt >= BIND_ATTEMPTS) throw err;
    }
  }
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

function isPermission(err: unknown): boolean {
  const code = codeOf(err);
  return code === 'EACCES' || code === 'EPERM';
}
