import { randomInt } from 'node:crypto';
import type { ProbeKind } from '../prober.js';

export const icmpKind: ProbeKind = {
  name: 'icmp',
  async open(ctx) {
    const { IcmpProber } = await import('./prober.js');
    const { openRawTransports } = await import('./raw-transport.js');
    return new IcmpProber({
      transports: openRawTransports(ctx.log),
      identifier: randomInt(0x10000),
      payloadBytes: ctx.payloadBytes,
    });
  },
};
