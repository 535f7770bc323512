// `--udp-transport`, apart from the transports themselves so that parsing
// options loads no native code.

/** `auto`: our addon's sockets (kernel stamps) when it loads, else node's dgram. */
export const UDP_TRANSPORT_CHOICES = ['auto', 'native', 'dgram'] as const;
export type UdpTransportChoice = (typeof UDP_TRANSPORT_CHOICES)[number];
