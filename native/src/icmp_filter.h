// Kernel-side filters for raw ICMP sockets, so that only our echo replies
// and the errors that quote our echoes reach user space.
#pragma once
#include <cstdint>

namespace netping {

// ICMP_FILTER / ICMP6_FILTER (by type), then a classic BPF program
// (SO_ATTACH_FILTER) that keeps only echo replies carrying `identifier` and
// errors quoting an echo request with it. Returns 0 or an errno.
int AttachIcmpFilters(int fd, int family, uint16_t identifier);

}  // namespace netping
