#include "tcp_info.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace netping {

Napi::Value TcpInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsNumber()) {
    Napi::TypeError::New(env, "tcpInfo(fd)").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  int fd = info[0].As<Napi::Number>().Int32Value();
  tcp_info ti;
  std::memset(&ti, 0, sizeof(ti));
  socklen_t len = sizeof(ti);
  if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0) {
    int err = errno;
    const char* name = strerrorname_np(err);
    Napi::Error error = Napi::Error::New(env, std::string("TCP_INFO: ") + strerror(err));
    error.Set("code", Napi::String::New(env, name ? name : "EUNKNOWN"));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Object out = Napi::Object::New(env);
  out.Set("state", Napi::Number::New(env, ti.tcpi_state));
  // The smoothed RTT; right after the handshake it is the SYN's one sample
  // (0 when the kernel took none: a retransmitted SYN gives no sample).
  out.Set("rttUs", Napi::Number::New(env, ti.tcpi_rtt));
  out.Set("totalRetrans", Napi::Number::New(env, ti.tcpi_total_retrans));
  return out;
}

}  // namespace netping
