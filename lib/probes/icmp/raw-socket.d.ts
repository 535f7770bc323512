// The parts of raw-socket 1.8.1 that raw-transport.ts uses. raw-socket ships
// no types. `wrap` is its native socket: we call it directly (see raw-transport.ts).
declare module 'raw-socket' {
  import type { EventEmitter } from 'node:events';

  export interface SocketWrap extends EventEmitter {
    send(
      buffer: Buffer,
      offset: number,
      length: number,
      address: string,
      callback: (bytes: number) => void,
    ): void;
    recv(buffer: Buffer, callback: (buffer: Buffer, bytes: number, source: string) => void): void;
    close(): void;
  }

  export interface Socket extends EventEmitter {
    readonly wrap: SocketWrap;
    close(): Socket;
    setOption(level: number, option: number, value: number): void;
    setOption(level: number, option: number, value: Buffer, length: number): void;
  }

  const raw: {
    createSocket(options: { protocol: number; addressFamily: number; bufferSize?: number }): Socket;
    AddressFamily: { IPv4: number; IPv6: number };
    Protocol: { ICMP: number; ICMPv6: number };
    SocketLevel: { SOL_SOCKET: number; IPPROTO_IP: number; IPPROTO_IPV6: number };
    SocketOption: { SO_RCVBUF: number; SO_SNDBUF: number };
  };
  export default raw;
}
