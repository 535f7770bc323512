import type { ProbeKind } from '../prober.js';

/** udp: an authenticated echo to a netpingd peer's responder, on port 9923 unless named. */
export const udpKind: ProbeKind = {
  name: 'udp',
  port: 9923,
  async open(ctx) {
    const { openUdpProber } = await import('./open.js');
    return openUdpProber(ctx);
  },
};
