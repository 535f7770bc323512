// Opens the udp prober's sockets. Without a peer key none is opened: every
// udp probe then fails as send:no-peer-key, and the daemon binds nothing.

import type { Family } from '../../address.js';
import type { Prober, ProberContext } from '../prober.js';
import { udpSocket, UdpProber } from './prober.js';
import type dgram from 'node:dgram';

export async function openUdpProber(ctx: ProberContext): Promise<Prober> {
  if (!ctx.peerKey) return new UdpProber({ key: undefined, sockets: {} });
  const sockets: Partial<Record<Family, dgram.Socket>> = { 4: await udpSocket(4) };
  try {
    sockets[6] = await udpSocket(6);
  } catch (err) {
    // A host without IPv6: IPv6 udp targets are still accepted and show as failed sends.
    ctx.log(`no IPv6 for udp probes: ${err instanceof Error ? err.message : String(err)}`);
  }
  return new UdpProber({ key: ctx.peerKey, sockets });
}
