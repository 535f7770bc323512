import type { ProbeKind } from '../prober.js';

export const icmpKind: ProbeKind = {
  name: 'icmp',
  async open(ctx) {
    const { IcmpProber } = await import('./prober.js');
    const { openIcmpTransports } = await import('./open-transports.js');
    const opened = await openIcmpTransports(ctx.icmpTransport, ctx.log);
    ctx.log(opened.info.line);
    return new IcmpProber({
      transports: opened.transports,
      identifier: opened.identifier,
      payloadBytes: ctx.payloadBytes,
      info: { transport: opened.info.transport, clock: opened.info.clock },
    });
  },
};
