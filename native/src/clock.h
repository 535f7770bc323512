// The two clocks of the probe sockets: the kernel stamps packets in
// CLOCK_REALTIME (SO_TIMESTAMPNS), the daemon's engine runs on
// CLOCK_MONOTONIC (performance.now() is uv_hrtime()).
#pragma once
#include <cstdint>
#include <ctime>

namespace netping {

int64_t RealtimeNs();
int64_t MonotonicNs();
int64_t TimespecNs(const timespec& ts);

// A pair of clock readings taken back to back, to carry a CLOCK_REALTIME
// stamp over to CLOCK_MONOTONIC by its age: a step of the wall clock
// between a send and its reply then moves neither stamp.
struct ClockPair {
  int64_t realtime_ns;
  int64_t monotonic_ns;
  static ClockPair Now();
  // CLOCK_MONOTONIC milliseconds of a CLOCK_REALTIME stamp taken before now.
  double MonotonicMsOf(int64_t realtime_stamp_ns) const;
};

}  // namespace netping
