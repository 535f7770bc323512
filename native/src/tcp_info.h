// What the kernel knows of one TCP connection (getsockopt TCP_INFO), for
// the tcp prober: the handshake's RTT as the kernel measured it.
#pragma once
#include <napi.h>

namespace netping {

// tcpInfo(fd) -> { state, rttUs, totalRetrans } of the socket `fd` (a
// net.Socket's handle); throws the errno error (`code`) when it is none.
Napi::Value TcpInfo(const Napi::CallbackInfo& info);

}  // namespace netping
