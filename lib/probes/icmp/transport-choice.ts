// `--icmp-transport`, apart from the transports themselves so that parsing
// options loads no native code.

/** `auto` picks the first that opens of datagram, raw, raw-socket. */
export const ICMP_TRANSPORT_CHOICES = ['auto', 'datagram', 'raw', 'raw-socket'] as const;
export type IcmpTransportChoice = (typeof ICMP_TRANSPORT_CHOICES)[number];
