// Linux socket option numbers that neither Node nor raw-socket names
// (linux/in.h, linux/in6.h), for the trace sockets (lib/path/).

export const IPPROTO_IP = 0;
export const IPPROTO_IPV6 = 41;
export const IP_TTL = 2;
export const IPV6_UNICAST_HOPS = 16;
/** Don't fragment, and ignore the cached path MTU: IP_PMTUDISC_PROBE (and IPv6's). */
export const IP_MTU_DISCOVER = 10;
export const IP_PMTUDISC_PROBE = 3;
export const IPV6_MTU_DISCOVER = 23;
export const IPV6_PMTUDISC_PROBE = 3;
