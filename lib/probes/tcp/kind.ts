import type { ProbeKind } from '../prober.js';

/** TCP connect to the target's port: RTT to the handshake, a refusal counted as an answer. */
export const tcpKind: ProbeKind = {
  name: 'tcp',
  port: 'required',
  async open(ctx) {
    const { TcpProber } = await import('./prober.js');
    const { systemClock } = await import('../../engine/clock.js');
    const { loadNativeSockets } = await import('../icmp/native-sockets.js');
    const native = loadNativeSockets();
    // Without the addon, RTTs are the connect callback's time
    // (netping_tcp_transport_info{clock="user-space"}).
    return new TcpProber({
      nowMs: () => systemClock.nowMs(),
      maxInFlight: ctx.tcpMaxInFlight,
      ...(native.ok
        ? {
            kernel: {
              tcpInfo: (fd: number) => native.sockets.tcpInfo(fd),
              established: native.sockets.TCP_ESTABLISHED,
            },
          }
        : {}),
    });
  },
};
