import type { ProbeKind } from '../prober.js';

/** TCP connect to the target's port: RTT to the handshake, a refusal counted as an answer. */
export const tcpKind: ProbeKind = {
  name: 'tcp',
  port: 'required',
  async open(ctx) {
    const { TcpProber } = await import('./prober.js');
    const { systemClock } = await import('../../engine/clock.js');
    return new TcpProber({ nowMs: () => systemClock.nowMs(), maxInFlight: ctx.tcpMaxInFlight });
  },
};
