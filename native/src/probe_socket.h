// One ICMP socket of one address family: datagram (no privilege, the
// kernel hands it only its own replies) or raw (CAP_NET_RAW, filtered in the
// kernel on our identifier). Reads in batches with their kernel receive
// stamps; sends one packet synchronously and says when it went.
#pragma once

#include <napi.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <uv.h>

#include <cstdint>
#include <vector>

namespace netping {

class ProbeSocket : public Napi::ObjectWrap<ProbeSocket> {
 public:
  static Napi::Function Define(Napi::Env env);
  explicit ProbeSocket(const Napi::CallbackInfo& info);
  ~ProbeSocket() override;

 private:
  Napi::Value Identifier(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetOption(const Napi::CallbackInfo& info);

  bool Open(Napi::Env env, int family, bool datagram, int identifier, int rcvbuf_bytes);
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
