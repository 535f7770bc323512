// The probe sockets addon. Context-aware: everything lives in the
// per-environment instance (no static mutable state), so it loads in worker
// threads as well as on the main thread.
#include <napi.h>

#include "clock.h"
#include "probe_socket.h"
#include "tcp_info.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

namespace netping {

class NetpingSockets : public Napi::Addon<NetpingSockets> {
 public:
  NetpingSockets(Napi::Env env, Napi::Object exports) {
    DefineAddon(exports, {
                             InstanceValue("ProbeSocket", ProbeSocket::Define(env)),
                             InstanceMethod("monotonicNowMs", &NetpingSockets::MonotonicNowMs),
                             InstanceMethod("tcpInfo", &NetpingSockets::TcpInfoOf),
                             InstanceValue("constants", Constants(env)),
                             InstanceValue("TCP_ESTABLISHED", Napi::Number::New(env, TCP_ESTABLISHED)),
                         });
  }

 private:
  Napi::Value TcpInfoOf(const Napi::CallbackInfo& info) { return TcpInfo(info); }

  // The socket option numbers ProbeSocket.setOption takes.
  static Napi::Object Constants(Napi::Env env) {
    Napi::Object c = Napi::Object::New(env);
    c.Set("SOL_SOCKET", SOL_SOCKET);
    c.Set("IPPROTO_IP", static_cast<int>(IPPROTO_IP));
    c.Set("IPPROTO_IPV6", static_cast<int>(IPPROTO_IPV6));
    c.Set("IP_TTL", IP_TTL);
    c.Set("IP_RECVERR", IP_RECVERR);
    c.Set("IP_MTU_DISCOVER", IP_MTU_DISCOVER);
    c.Set("IP_PMTUDISC_DONT", IP_PMTUDISC_DONT);
    c.Set("IP_PMTUDISC_DO", IP_PMTUDISC_DO);
    c.Set("IP_PMTUDISC_PROBE", IP_PMTUDISC_PROBE);
    c.Set("IPV6_UNICAST_HOPS", IPV6_UNICAST_HOPS);
    c.Set("IPV6_RECVERR", IPV6_RECVERR);
    c.Set("IPV6_MTU_DISCOVER", IPV6_MTU_DISCOVER);
    c.Set("IPV6_PMTUDISC_DONT", IPV6_PMTUDISC_DONT);
    c.Set("IPV6_PMTUDISC_DO", IPV6_PMTUDISC_DO);
    c.Set("IPV6_PMTUDISC_PROBE", IPV6_PMTUDISC_PROBE);
    c.Set("SO_RCVBUF", SO_RCVBUF);
    c.Set("SO_SNDBUF", SO_SNDBUF);
    return c;
  }

  Napi::Value MonotonicNowMs(const Napi::CallbackInfo& info) {
    return Napi::Number::New(info.Env(), static_cast<double>(MonotonicNs()) / 1e6);
  }
};

}  // namespace netping

using netping::NetpingSockets;
NODE_API_ADDON(NetpingSockets)
