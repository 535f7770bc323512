#include "icmp_filter.h"

#include <cerrno>
#include <cstring>
#include <linux/filter.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace netping {
namespace {

constexpr uint32_t kAccept = 0xffffffffu;  // keep the whole packet
constexpr uint32_t kDrop = 0;

sock_filter Stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) {
  return sock_filter{code, jt, jf, k};
}

// IPv4 raw sockets see the packet from its IP header on. Offsets are
// relative to X = the IP header's length; for an error, X then becomes the
// outer plus the quoted header's length (old routers quote only 8 bytes of
// our echo, which still hold the identifier).
int AttachV4(int fd, uint16_t id) {
  sock_filter code[] = {
      /* 0 */ Stmt(BPF_LDX | BPF_B | BPF_MSH, 0),
      /* 1 */ Stmt(BPF_LD | BPF_B | BPF_IND, 0),  // type
      /* 2 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 5, 0),   // echo reply -> 8
      /* 3 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, 3, 6, 0),   // unreachable -> 10
      /* 4 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, 4, 5, 0),   // source quench -> 10
      /* 5 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, 11, 4, 0),  // time exceeded -> 10
      /* 6 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, 12, 3, 0),  // parameter problem -> 10
      /* 7 */ Stmt(BPF_RET | BPF_K, kDrop),
      /* 8 */ Stmt(BPF_LD | BPF_H | BPF_IND, 4),  // identifier
      /* 9 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, id, 9, 10),
      /* 10 */ Stmt(BPF_LD | BPF_B | BPF_IND, 8),  // the quoted header's version/IHL
      /* 11 */ Stmt(BPF_ALU | BPF_AND | BPF_K, 0x0f),
      /* 12 */ Stmt(BPF_ALU | BPF_LSH | BPF_K, 2),
      /* 13 */ Stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
      /* 14 */ Stmt(BPF_MISC | BPF_TAX, 0),
      /* 15 */ Stmt(BPF_LD | BPF_B | BPF_IND, 8),  // the quoted ICMP type
      /* 16 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, ICMP_ECHO, 0, 3),
      /* 17 */ Stmt(BPF_LD | BPF_H | BPF_IND, 12),  // the quoted identifier
      /* 18 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, id, 0, 1),
      /* 19 */ Stmt(BPF_RET | BPF_K, kAccept),
      /* 20 */ Stmt(BPF_RET | BPF_K, kDrop),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) return errno;
  return 0;
}

// IPv6 raw sockets see the ICMPv6 message alone; an error quotes the
// 40-byte IPv6 header, then our echo.
int AttachV6(int fd, uint16_t id) {
  sock_filter code[] = {
      /* 0 */ Stmt(BPF_LD | BPF_B | BPF_ABS, 0),
      /* 1 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_ECHO_REPLY, 5, 0),  // -> 7
      /* 2 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_DST_UNREACH, 6, 0),  // -> 9
      /* 3 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_PACKET_TOO_BIG, 5, 0),
      /* 4 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_TIME_EXCEEDED, 4, 0),
      /* 5 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_PARAM_PROB, 3, 0),
      /* 6 */ Stmt(BPF_RET | BPF_K, kDrop),
      /* 7 */ Stmt(BPF_LD | BPF_H | BPF_ABS, 4),
      /* 8 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, id, 4, 5),  // -> 13 / 14
      /* 9 */ Stmt(BPF_LD | BPF_B | BPF_ABS, 48),
      /* 10 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, ICMP6_ECHO_REQUEST, 0, 3),
      /* 11 */ Stmt(BPF_LD | BPF_H | BPF_ABS, 52),
      /* 12 */ Jump(BPF_JMP | BPF_JEQ | BPF_K, id, 0, 1),
      /* 13 */ Stmt(BPF_RET | BPF_K, kAccept),
      /* 14 */ Stmt(BPF_RET | BPF_K, kDrop),
  };
  sock_fprog prog{static_cast<unsigned short>(sizeof(code) / sizeof(code[0])), code};
  if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) != 0) return errno;
  return 0;
}

}  // namespace

int AttachIcmpFilters(int fd, int family, uint16_t identifier) {
  if (family == AF_INET) {
    // ICMP_FILTER's mask names the types to drop.
    uint32_t pass = (1u << ICMP_ECHOREPLY) | (1u << ICMP_DEST_UNREACH) |
                    (1u << ICMP_SOURCE_QUENCH) | (1u << ICMP_TIME_EXCEEDED) |
                    (1u << ICMP_PARAMETERPROB);
    icmp_filter filter{~pass};
    if (setsockopt(fd, SOL_RAW, ICMP_FILTER, &filter, sizeof(filter)) != 0) return errno;
    return AttachV4(fd, identifier);
  }
  icmp6_filter filter;
  ICMP6_FILTER_SETBLOCKALL(&filter);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_DST_UNREACH, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_PACKET_TOO_BIG, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_TIME_EXCEEDED, &filter);
  ICMP6_FILTER_SETPASS(ICMP6_PARAM_PROB, &filter);
  if (setsockopt(fd, IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof(filter)) != 0) return errno;
  return AttachV6(fd, identifier);
}

}  // namespace netping
