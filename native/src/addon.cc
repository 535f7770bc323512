// The probe sockets addon. Context-aware: everything lives in the
// per-environment instance (no static mutable state), so it loads in worker
// threads as well as on the main thread.
#include <napi.h>

#include "clock.h"
#include "probe_socket.h"
#include "tcp_info.h"

#include <netinet/tcp.h>

namespace netping {

class NetpingSockets : public Napi::Addon<NetpingSockets> {
 public:
  NetpingSockets(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("ProbeSocket", ProbeSocket::Define(env)),
                             InstanceMethod("monotonicNowMs", &NetpingSockets::MonotonicNowMs),
                             InstanceMethod("tcpInfo", &NetpingSockets::TcpInfoOf),
                             InstanceValue("TCP_ESTABLISHED", Napi::Number::New(env, TCP_ESTABLISHED)),
                         });
  }

 private:
  Napi::Value TcpInfoOf(const Napi::CallbackInfo& info) { return TcpInfo(info); }

  Napi::Value MonotonicNowMs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(MonotonicNs()) / 1e6);
  }
};

}  // namespace netping

using netping::NetpingSockets;
NODE_API_ADDON(NetpingSockets)
