// The echo identifiers of this process's trace sockets (lib/path/). On
// raw-socket, every ICMP socket sees every ICMP packet, so the regular
// prober sees the traces' replies and errors: they are ours, not foreign,
// and must not count as ignored packets. (On our addon's sockets the kernel
// hands each socket only its own identifier's.)

const identifiers = new Set<number>();

export function addTraceIdentifier(identifier: number): void {
  identifiers.add(identifier);
}

export function removeTraceIdentifier(identifier: number): void {
  identifiers.delete(identifier);
}

export function isTraceIdentifier(identifier: number): boolean {
  return identifiers.has(identifier);
}
