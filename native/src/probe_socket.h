// One probe socket of one address family. ICMP: datagram (no privilege,
// the kernel hands it only its own replies) or raw (CAP_NET_RAW, filtered
// in the kernel on our identifier). UDP: bound to an address and port, for
// the udp prober and the peer responder. Reads in batches with their kernel
// receive stamps; sends one packet synchronously and says when it went.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <string>
#include <vector>

namespace netping {

class ProbeSocket : public Napi::ObjectWrap<ProbeSocket> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ProbeSocket(const Napi::CallbackInfo& info);
  ~ProbeSocket() override;

 private:
  Napi::Value Identifier(const Napi::CallbackInfo& info);
  Napi::Value SetOption(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bool Open(Napi::Env env, int family, bool datagram, int identifier, int rcvbuf_bytes);
  bool OpenUdp(Napi::Env env, int family, const std::string& host, int port, bool dual_stack,
               bool receive_errors, int rcvbuf_bytes);
  // socket() with SO_TIMESTAMPNS and the receive buffer; false with the error thrown.
  bool OpenStamped(Napi::Env env, int type, int protocol, int rcvbuf_bytes, const std::string& what);
  // Closes the socket being opened and throws `err`; returns false.
  bool FailOpen(Napi::Env env, int err, const std::string& what);
  bool StartPolling(Napi::Env env, Napi::Function on_readable);
  void CloseNow();
  void OnPoll(int status);
  static void PollCallback(uv_poll_t* handle, int status, int events);
  static void CleanupHook(void* self);
  // Reads one error-queue message into entry `at`; false when the queue is empty.
  bool ReadErrorQueue(Napi::Env env, uint8_t* slot, size_t slot_bytes, int32_t* info,
                      double* time, Napi::Array& sources, Napi::Array& destinations,
                      int32_t* extras, uint32_t at);

  int fd_ = -1;
  int family_ = AF_INET;
  bool datagram_ = true;
  bool udp_ = false;
  // ICMP datagram sockets, and UDP ones asked to: ICMP errors about what we
  // sent come on the error queue.
  bool error_queue_ = false;
  uint16_t identifier_ = 0;
  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference on_readable_;
  napi_env env_ = nullptr;
  // The batch's message headers, reused on every read.
  std::vector<mmsghdr> messages_;
  std::vector<iovec> iovecs_;
  std::vector<sockaddr_storage> names_;
  std::vector<uint8_t> controls_;
};

}  // namespace netping
