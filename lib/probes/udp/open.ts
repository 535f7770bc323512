// Opens the udp prober's sockets. Without a peer key none is opened: every
// udp probe then fails as send:no-peer-key, and the daemon binds nothing.

import type { Family } from '../../address.js';
import type { Prober, ProberContext } from '../prober.js';
import { openUdpTransport } from './open-transport.js';
import { UdpProber } from './prober.js';
import type { UdpTransport } from './transport.js';

export async function openUdpProber(ctx: ProberContext): Promise<Prober> {
  if (!ctx.peerKey) return new UdpProber({ key: undefined, transports: {} });
  const transports: Partial<Record<Family, UdpTransport>> = {
    4: await openUdpTransport(ctx.udpTransport, { family: 4, receiveErrors: true }),
  };
  try {
    transports[6] = await openUdpTransport(ctx.udpTransport, { family: 6, receiveErrors: true });
  } catch (err) {
    // A host without IPv6: IPv6 udp targets are still accepted and show as failed sends.
    ctx.log(`no IPv6 for udp probes: ${err instanceof Error ? err.message : String(err)}`);
  }
  ctx.log(
    `udp: ${transports[4]!.transport === 'native' ? "the addon's sockets, kernel timestamps" : 'node dgram sockets, user-space timestamps'}`,
  );
  return new UdpProber({ key: ctx.peerKey, transports });
}
