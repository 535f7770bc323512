#include "probe_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/ip_icmp.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

#include "clock.h"
#include "icmp_filter.h"

namespace netping {
namespace {

constexpr uint32_t kMaxBatch = 256;
constexpr size_t kControlBytes = 256;  // a timestamp, or an extended error and its offender

Napi::Value ThrowErrno(Napi::Env env, int err, const std::string& what) {
  const char* name = strerrorname_np(err);
  std::string code = name ? name : "EUNKNOWN";
  // The errno's name in the message too, as node's own socket errors have it.
  Napi::Error error = Napi::Error::New(env, what + ": " + strerror(err) + " (" + code + ")");
  error.Set("code", Napi::String::New(env, code));
  error.Set("errno", Napi::Number::New(env, err));
  error.ThrowAsJavaScriptException();
  return env.Undefined();
}

Napi::Value ThrowType(Napi::Env env, const char* what) {
  Napi::TypeError::New(env, what).ThrowAsJavaScriptException();
  return env.Undefined();
}

// Parses "192.0.2.1", "2001:db8::1" or "fe80::1%eth0" for a family.
bool ParseAddress(int family, const std::string& text, sockaddr_storage* out, socklen_t* len) {
  std::memset(out, 0, sizeof(*out));
  if (family == AF_INET) {
    auto* sin = reinterpret_cast<sockaddr_in*>(out);
    sin->sin_family = AF_INET;
    *len = sizeof(*sin);
    return inet_pton(AF_INET, text.c_str(), &sin->sin_addr) == 1;
  }
  auto* sin6 = reinterpret_cast<sockaddr_in6*>(out);
  sin6->sin6_family = AF_INET6;
  *len = sizeof(*sin6);
  std::string host = text;
  size_t zone_at = text.find('%');
  if (zone_at != std::string::npos) {
    host = text.substr(0, zone_at);
    std::string zone = text.substr(zone_at + 1);
    unsigned index = if_nametoindex(zone.c_str());
    if (index == 0) {
      char* end = nullptr;
      unsigned long numeric = std::strtoul(zone.c_str(), &end, 10);
      if (zone.empty() || *end != '\0') return false;
      index = static_cast<unsigned>(numeric);
    }
    sin6->sin6_scope_id = index;
  }
  return inet_pton(AF_INET6, host.c_str(), &sin6->sin6_addr) == 1;
}

std::string AddressText(const sockaddr* addr) {
  char text[INET6_ADDRSTRLEN] = "";
  if (addr->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(addr)->sin_addr, text, sizeof(text));
  } else if (addr->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr, text,
              sizeof(text));
  }
  return text;
}

int32_t SourcePort(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in*>(addr)->sin_port);
  if (addr->sa_family == AF_INET6)
    return ntohs(reinterpret_cast<const sockaddr_in6*>(addr)->sin6_port);
  return 0;
}

int64_t ReceiveStampNs(msghdr* msg) {
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_TIMESTAMPNS) {
      timespec ts;
      std::memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      return TimespecNs(ts);
    }
  }
  return -1;
}

int SetInt(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value)) == 0 ? 0 : errno;
}

}  // namespace

// Entry kinds in info[4 * i + 1].
enum EntryKind : int32_t { kPacket = 0, kIcmpError = 1, kLocalError = 2 };

Napi::Function ProbeSocket::Define(Napi::Env env) {
  return DefineClass(env, "ProbeSocket",
                     {
                         InstanceAccessor("identifier", &ProbeSocket::Identifier, nullptr),
                         InstanceAccessor("port", &ProbeSocket::Identifier, nullptr),
                         InstanceMethod("setOption", &ProbeSocket::SetOption),
                         InstanceMethod("send", &ProbeSocket::Send),
                         InstanceMethod("receive", &ProbeSocket::Receive),
                         InstanceMethod("close", &ProbeSocket::Close),
                     });
}

// new ProbeSocket(family, datagram, identifier, receiveBufferBytes, onReadable): ICMP.
// new ProbeSocket({ family, protocol: 'udp', host, port, dualStack, receiveErrors,
//                   receiveBufferBytes }, onReadable)
// or ({ family, protocol: 'icmp', datagram, identifier, receiveBufferBytes }, onReadable).
ProbeSocket::ProbeSocket(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ProbeSocket>(info) {
  Napi::Env env = info.Env();
  env_ = env;
  if (info.Length() >= 2 && info[0].IsObject() && info[1].IsFunction()) {
    Napi::Object o = info[0].As<Napi::Object>();
    auto number = [&](const char* key, int fallback) {
      Napi::Value v = o.Get(key);
      return v.IsNumber() ? v.As<Napi::Number>().Int32Value() : fallback;
    };
    auto flag = [&](const char* key) {
      Napi::Value v = o.Get(key);
      return v.IsBoolean() && v.As<Napi::Boolean>().Value();
    };
    int family = number("family", 4) == 6 ? AF_INET6 : AF_INET;
    Napi::Value protocol = o.Get("protocol");
    std::string proto = protocol.IsString() ? protocol.As<Napi::String>().Utf8Value() : "icmp";
    int rcvbuf = number("receiveBufferBytes", 0);
    bool opened;
    if (proto == "udp") {
      int port = number("port", 0);
      Napi::Value host = o.Get("host");
      if (port < 0 || port > 0xffff) {
        ThrowType(env, "port must be 0..65535");
        return;
      }
      opened = OpenUdp(env, family, host.IsString() ? host.As<Napi::String>().Utf8Value() : "",
                       port, flag("dualStack"), flag("receiveErrors"), rcvbuf);
    } else if (proto == "icmp") {
      int identifier = number("identifier", 0);
      if (identifier < 0 || identifier > 0xffff) {
        ThrowType(env, "identifier must be 0..65535");
        return;
      }
      opened = Open(env, family, flag("datagram"), identifier, rcvbuf);
    } else {
      ThrowType(env, "protocol must be 'icmp' or 'udp'");
      return;
    }
    if (opened) StartPolling(env, info[1].As<Napi::Function>());
    return;
  }
  if (info.Length() < 5 || !info[0].IsNumber() || !info[1].IsBoolean() || !info[2].IsNumber() ||
      !info[3].IsNumber() || !info[4].IsFunction()) {
    ThrowType(env, "ProbeSocket(family, datagram, identifier, receiveBufferBytes, onReadable)");
    return;
  }
  int family = info[0].As<Napi::Number>().Int32Value() == 6 ? AF_INET6 : AF_INET;
  bool datagram = info[1].As<Napi::Boolean>().Value();
  int identifier = info[2].As<Napi::Number>().Int32Value();
  int rcvbuf = info[3].As<Napi::Number>().Int32Value();
  if (identifier < 0 || identifier > 0xffff) {
    ThrowType(env, "identifier must be 0..65535");
    return;
  }
  if (!Open(env, family, datagram, identifier, rcvbuf)) return;
  StartPolling(env, info[4].As<Napi::Function>());
}

bool ProbeSocket::StartPolling(Napi::Env env, Napi::Function on_readable) {
  on_readable_ = Napi::Persistent(on_readable);

  messages_.resize(kMaxBatch);
  iovecs_.resize(kMaxBatch);
  names_.resize(kMaxBatch);
  controls_.resize(kMaxBatch * kControlBytes);

  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  poll_ = new uv_poll_t;
  int rc = uv_poll_init(loop, poll_, fd_);
  if (rc == 0) {
    poll_->data = this;
    rc = uv_poll_start(poll_, UV_READABLE, &ProbeSocket::PollCallback);
  }
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    on_readable_.Reset();
    ::close(fd_);
    fd_ = -1;
    ThrowErrno(env, -rc, "uv_poll");
    return false;
  }
  // Polling: JavaScript may drop its last reference, the socket stays until close().
  Ref();
  napi_add_env_cleanup_hook(env, &ProbeSocket::CleanupHook, this);
  return true;
}

ProbeSocket::~ProbeSocket() { CloseNow(); }

bool ProbeSocket::OpenStamped(Napi::Env env, int type, int protocol, int rcvbuf_bytes,
                              const std::string& what) {
  fd_ = socket(family_, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
  if (fd_ < 0) {
    ThrowErrno(env, errno, what);
    return false;
  }
  int err = SetInt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, 1);
  if (err != 0) return FailOpen(env, err, "SO_TIMESTAMPNS");
  // Without CAP_NET_ADMIN the kernel caps SO_RCVBUF at net.core.rmem_max.
  if (rcvbuf_bytes > 0 && SetInt(fd_, SOL_SOCKET, SO_RCVBUFFORCE, rcvbuf_bytes) != 0)
    SetInt(fd_, SOL_SOCKET, SO_RCVBUF, rcvbuf_bytes);
  return true;
}

bool ProbeSocket::FailOpen(Napi::Env env, int err, const std::string& what) {
  ::close(fd_);
  fd_ = -1;
  ThrowErrno(env, err, what);
  return false;
}

bool ProbeSocket::Open(Napi::Env env, int family, bool datagram, int identifier,
                       int rcvbuf_bytes) {
  family_ = family;
  datagram_ = datagram;
  int protocol = family == AF_INET ? static_cast<int>(IPPROTO_ICMP) : static_cast<int>(IPPROTO_ICMPV6);
  if (!OpenStamped(env, datagram ? SOCK_DGRAM : SOCK_RAW, protocol, rcvbuf_bytes,
                   datagram ? "ICMP datagram socket" : "raw ICMP socket"))
    return false;
  auto fail = [&](int err, const char* what) { return FailOpen(env, err, what); };
  int err;
  if (datagram) {
    // The kernel writes the socket's "port" into every echo's identifier
    // and hands the socket only replies that carry it: bind to ours.
    sockaddr_storage local;
    std::memset(&local, 0, sizeof(local));
    socklen_t local_len;
    if (family == AF_INET) {
      auto* sin = reinterpret_cast<sockaddr_in*>(&local);
      sin->sin_family = AF_INET;
      sin->sin_port = htons(static_cast<uint16_t>(identifier));
      local_len = sizeof(*sin);
    } else {
      auto* sin6 = reinterpret_cast<sockaddr_in6*>(&local);
      sin6->sin6_family = AF_INET6;
      sin6->sin6_port = htons(static_cast<uint16_t>(identifier));
      local_len = sizeof(*sin6);
    }
    if (bind(fd_, reinterpret_cast<sockaddr*>(&local), local_len) != 0)
      return fail(errno, "bind");
    local_len = sizeof(local);
    if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
      return fail(errno, "getsockname");
    identifier_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&local)->sin_port
                                          : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
    // ICMP errors about our echoes arrive on the error queue.
    err = family == AF_INET ? SetInt(fd_, IPPROTO_IP, IP_RECVERR, 1)
                            : SetInt(fd_, IPPROTO_IPV6, IPV6_RECVERR, 1);
    if (err != 0) return fail(err, "IP_RECVERR");
    error_queue_ = true;
  } else {
    identifier_ = static_cast<uint16_t>(identifier);
    err = AttachIcmpFilters(fd_, family, identifier_);
    if (err != 0) return fail(err, "socket filter");
  }
  return true;
}

bool ProbeSocket::OpenUdp(Napi::Env env, int family, const std::string& host, int port,
                          bool dual_stack, bool receive_errors, int rcvbuf_bytes) {
  family_ = family;
  datagram_ = true;
  udp_ = true;
  if (!OpenStamped(env, SOCK_DGRAM, IPPROTO_UDP, rcvbuf_bytes, "UDP socket")) return false;
  auto fail = [&](int err, const std::string& what) { return FailOpen(env, err, what); };
  int err;
  if (family == AF_INET6) {
    err = SetInt(fd_, IPPROTO_IPV6, IPV6_V6ONLY, dual_stack ? 0 : 1);
    if (err != 0) return fail(err, "IPV6_V6ONLY");
  }
  sockaddr_storage local;
  socklen_t local_len;
  std::string text = host.empty() ? (family == AF_INET ? "0.0.0.0" : "::") : host;
  if (!ParseAddress(family, text, &local, &local_len))
    return fail(EINVAL, "bad address " + text);
  if (family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&local)->sin_port = htons(static_cast<uint16_t>(port));
  else
    reinterpret_cast<sockaddr_in6*>(&local)->sin6_port = htons(static_cast<uint16_t>(port));
  if (bind(fd_, reinterpret_cast<sockaddr*>(&local), local_len) != 0)
    return fail(errno, "bind " + text + " port " + std::to_string(port));
  local_len = sizeof(local);
  if (getsockname(fd_, reinterpret_cast<sockaddr*>(&local), &local_len) != 0)
    return fail(errno, "getsockname");
  identifier_ = ntohs(family == AF_INET ? reinterpret_cast<sockaddr_in*>(&local)->sin_port
                                        : reinterpret_cast<sockaddr_in6*>(&local)->sin6_port);
  if (receive_errors) {
    // An unconnected UDP socket hears of ICMP errors (port unreachable...)
    // only on its error queue, and only with IP_RECVERR.
    err = family == AF_INET ? SetInt(fd_, IPPROTO_IP, IP_RECVERR, 1)
                            : SetInt(fd_, IPPROTO_IPV6, IPV6_RECVERR, 1);
    if (err != 0) return fail(err, "IP_RECVERR");
    error_queue_ = true;
  }
  return true;
}

// setOption(level, name, value): an int socket option (numbers from
// lib/probes/icmp/socket-options.ts), for what a prober needs beyond the defaults (the
// path MTU search's IP_MTU_DISCOVER on a trace socket, lib/path/).
Napi::Value ProbeSocket::SetOption(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) return ThrowErrno(env, EBADF, "setOption");
  if (info.Length() < 3 || !info[0].IsNumber() || !info[1].IsNumber() || !info[2].IsNumber())
    return ThrowType(env, "setOption(level, name, value)");
  int err = SetInt(fd_, info[0].As<Napi::Number>().Int32Value(),
                   info[1].As<Napi::Number>().Int32Value(),
                   info[2].As<Napi::Number>().Int32Value());
  if (err != 0) return ThrowErrno(env, err, "setsockopt");
  return env.Undefined();
}

Napi::Value ProbeSocket::Identifier(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), identifier_);
}

// send(packet, address, ttl[, port]) -> the send time, CLOCK_MONOTONIC ms.
// ttl 0: the socket's default; port: a UDP socket's destination port.
Napi::Value ProbeSocket::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) {
    Napi::Error error = Napi::Error::New(env, "socket closed");
    error.Set("code", Napi::String::New(env, "ECLOSED"));
    error.ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (info.Length() < 3 || !info[0].IsBuffer() || !info[1].IsString() || !info[2].IsNumber())
    return ThrowType(env, "send(packet, address, ttl)");
  auto packet = info[0].As<Napi::Buffer<uint8_t>>();
  sockaddr_storage to;
  socklen_t to_len;
  if (!ParseAddress(family_, info[1].As<Napi::String>().Utf8Value(), &to, &to_len))
    return ThrowErrno(env, EINVAL, "bad address");
  int ttl = info[2].As<Napi::Number>().Int32Value();
  if (info.Length() > 3 && info[3].IsNumber()) {
    uint16_t port = htons(static_cast<uint16_t>(info[3].As<Napi::Number>().Uint32Value()));
    if (family_ == AF_INET)
      reinterpret_cast<sockaddr_in*>(&to)->sin_port = port;
    else
      reinterpret_cast<sockaddr_in6*>(&to)->sin6_port = port;
  }

  iovec iov{packet.Data(), packet.Length()};
  msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_name = &to;
  msg.msg_namelen = to_len;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) uint8_t control[CMSG_SPACE(sizeof(int))];
  if (ttl > 0) {
    // A per-send TTL / hop limit, for traceroute's probes.
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = family_ == AF_INET ? static_cast<int>(IPPROTO_IP) : static_cast<int>(IPPROTO_IPV6);
    c->cmsg_type = family_ == AF_INET ? IP_TTL : IPV6_HOPLIMIT;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &ttl, sizeof(int));
  }
  // The same clock as the kernel's receive stamp, right before the syscall.
  int64_t sent_ns = RealtimeNs();
  ssize_t n = sendmsg(fd_, &msg, 0);
  if (n < 0) return ThrowErrno(env, errno, "sendmsg");
  return Napi::Number::New(env, ClockPair::Now().MonotonicMsOf(sent_ns));
}

bool ProbeSocket::ReadErrorQueue(Napi::Env env, uint8_t* slot, size_t slot_bytes, int32_t* info,
                                 double* time, Napi::Array& sources, Napi::Array& destinations,
                                 int32_t* extras, uint32_t at) {
  sockaddr_storage name;
  alignas(cmsghdr) uint8_t control[kControlBytes];
  iovec iov{slot, slot_bytes};
  msghdr msg;
  std::memset(&msg, 0, sizeof(msg));
  msg.msg_name = &name;
  msg.msg_namelen = sizeof(name);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = recvmsg(fd_, &msg, MSG_ERRQUEUE);
  if (n < 0) return false;
  ClockPair now = ClockPair::Now();
  int64_t stamp = ReceiveStampNs(&msg);
  time[at] = stamp >= 0 ? now.MonotonicMsOf(stamp) : static_cast<double>(now.monotonic_ns) / 1e6;
  info[4 * at] = static_cast<int32_t>(n);
  info[4 * at + 1] = kLocalError;
  info[4 * at + 2] = 0;
  info[4 * at + 3] = 0;
  if (extras != nullptr) extras[at] = 0;
  std::string offender;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    bool v4 = c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR;
    bool v6 = c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR;
    if (!v4 && !v6) continue;
    sock_extended_err ee;
    std::memcpy(&ee, CMSG_DATA(c), sizeof(ee));
    // ee_info: the MTU of Fragmentation Needed / Packet Too Big (or of a local EMSGSIZE).
    if (extras != nullptr) extras[at] = static_cast<int32_t>(ee.ee_info);
    if (ee.ee_origin == SO_EE_ORIGIN_ICMP || ee.ee_origin == SO_EE_ORIGIN_ICMP6) {
      info[4 * at + 1] = kIcmpError;
      info[4 * at + 2] = ee.ee_type;
      info[4 * at + 3] = ee.ee_code;
      // SO_EE_OFFENDER: the sockaddr right after the extended error.
      sockaddr_storage from;
      std::memset(&from, 0, sizeof(from));
      size_t room = c->cmsg_len - CMSG_LEN(sizeof(ee));
      std::memcpy(&from, CMSG_DATA(c) + sizeof(ee), room < sizeof(from) ? room : sizeof(from));
      offender = AddressText(reinterpret_cast<sockaddr*>(&from));
    } else {
      info[4 * at + 2] = static_cast<int32_t>(ee.ee_errno);
    }
  }
  sources.Set(at, Napi::String::New(env, offender));
  destinations.Set(at, Napi::String::New(env, AddressText(reinterpret_cast<sockaddr*>(&name))));
  return true;
}

// receive(slab, slotBytes, info, times, sources, destinations) -> entries read.
// Entry i: bytes at slab[i * slotBytes], info[4i..4i+3] = length, kind,
// ICMP type, code (or errno of a local error; a UDP packet's source port); times[i] = the kernel's
// receive stamp in CLOCK_MONOTONIC ms; sources[i] = the sender (an error's
// offender); destinations[i] = an error's original destination; the
// optional extras[i] = an error's ee_info (an MTU). Fewer entries than room:
// the socket is empty.
Napi::Value ProbeSocket::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (fd_ < 0) return Napi::Number::New(env, 0);
  if (info.Length() < 6 || !info[0].IsBuffer() || !info[1].IsNumber() ||
      !info[2].IsTypedArray() || !info[3].IsTypedArray() || !info[4].IsArray() ||
      !info[5].IsArray())
    return ThrowType(env, "receive(slab, slotBytes, info, times, sources, destinations)");
  auto slab = info[0].As<Napi::Buffer<uint8_t>>();
  size_t slot_bytes = info[1].As<Napi::Number>().Uint32Value();
  auto infos = info[2].As<Napi::Int32Array>();
  auto times = info[3].As<Napi::Float64Array>();
  auto sources = info[4].As<Napi::Array>();
  auto destinations = info[5].As<Napi::Array>();
  int32_t* extras = nullptr;
  size_t extras_room = 0;
  if (info.Length() >= 7 && info[6].IsTypedArray()) {
    auto given = info[6].As<Napi::Int32Array>();
    extras = given.Data();
    extras_room = given.ElementLength();
  }
  if (slot_bytes == 0) return ThrowType(env, "slotBytes must be positive");
  size_t room = slab.Length() / slot_bytes;
  if (infos.ElementLength() / 4 < room) room = infos.ElementLength() / 4;
  if (times.ElementLength() < room) room = times.ElementLength();
  if (room > kMaxBatch) room = kMaxBatch;
  if (extras != nullptr && extras_room < room) room = extras_room;
  uint8_t* base = slab.Data();
  int32_t* info_at = infos.Data();
  double* time_at = times.Data();

  uint32_t count = 0;
  if (error_queue_) {
    while (count < room && ReadErrorQueue(env, base + count * slot_bytes, slot_bytes, info_at,
                                          time_at, sources, destinations, extras, count))
      count++;
  }
  uint32_t want = static_cast<uint32_t>(room) - count;
  if (want == 0) return Napi::Number::New(env, count);
  for (uint32_t i = 0; i < want; i++) {
    iovecs_[i] = iovec{base + (count + i) * slot_bytes, slot_bytes};
    msghdr& h = messages_[i].msg_hdr;
    std::memset(&h, 0, sizeof(h));
    h.msg_name = &names_[i];
    h.msg_namelen = sizeof(sockaddr_storage);
    h.msg_iov = &iovecs_[i];
    h.msg_iovlen = 1;
    h.msg_control = &controls_[i * kControlBytes];
    h.msg_controllen = kControlBytes;
    messages_[i].msg_len = 0;
  }
  int n = -1;
  // A datagram socket reports an ICMP error once more as a pending socket
  // error, which fails one read; its message is on the error queue, read
  // above or next time. Bounded: a few such errors, then the queue.
  for (int attempt = 0; attempt < 4 && n < 0; attempt++) {
    n = recvmmsg(fd_, messages_.data(), want, MSG_DONTWAIT, nullptr);
    if (n >= 0) break;
    int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK || err == EINTR) return Napi::Number::New(env, count);
    if (!error_queue_ || err == EBADF || err == ENOTSOCK || err == EFAULT || err == EINVAL)
      return ThrowErrno(env, err, "recvmmsg");
  }
  if (n < 0) return Napi::Number::New(env, count);
  ClockPair now = ClockPair::Now();
  for (int i = 0; i < n; i++) {
    uint32_t at = count + i;
    msghdr& h = messages_[i].msg_hdr;
    int64_t stamp = ReceiveStampNs(&h);
    time_at[at] =
        stamp >= 0 ? now.MonotonicMsOf(stamp) : static_cast<double>(now.monotonic_ns) / 1e6;
    info_at[4 * at] = static_cast<int32_t>(messages_[i].msg_len);
    info_at[4 * at + 1] = kPacket;
    info_at[4 * at + 2] = udp_ ? SourcePort(reinterpret_cast<sockaddr*>(&names_[i])) : 0;
    info_at[4 * at + 3] = 0;
    if (extras != nullptr) extras[at] = 0;
    sources.Set(at, Napi::String::New(env, AddressText(reinterpret_cast<sockaddr*>(&names_[i]))));
  }
  return Napi::Number::New(env, count + n);
}

Napi::Value ProbeSocket::Close(const Napi::CallbackInfo& info) {
  CloseNow();
  return info.Env().Undefined();
}

void ProbeSocket::CloseNow() {
  if (poll_ != nullptr) {
    uv_poll_stop(poll_);
    uv_close(reinterpret_cast<uv_handle_t*>(poll_),
             [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
    poll_ = nullptr;
    napi_remove_env_cleanup_hook(env_, &ProbeSocket::CleanupHook, this);
    on_readable_.Reset();
    Unref();
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

void ProbeSocket::CleanupHook(void* self) { static_cast<ProbeSocket*>(self)->CloseNow(); }

void ProbeSocket::PollCallback(uv_poll_t* handle, int status, int /*events*/) {
  static_cast<ProbeSocket*>(handle->data)->OnPoll(status);
}

void ProbeSocket::OnPoll(int status) {
  Napi::Env env(env_);
  Napi::HandleScope scope(env);
  if (!on_readable_.IsEmpty()) {
    on_readable_.MakeCallback(Value(), {});
    if (env.IsExceptionPending()) {
      Napi::Error error = env.GetAndClearPendingException();
      napi_fatal_exception(env, error.Value());
    }
  }
  // libuv stops a poll handle on POLLERR, which is how a non-empty error
  // queue shows: the callback has read the queue, so poll again.
  if (status < 0 && poll_ != nullptr && fd_ >= 0)
    uv_poll_start(poll_, UV_READABLE, &ProbeSocket::PollCallback);
}

}  // namespace netping
