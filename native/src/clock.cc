#include "clock.h"

namespace netping {

int64_t TimespecNs(const timespec& ts) {
  return static_cast<int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

int64_t RealtimeNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return TimespecNs(ts);
}

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return TimespecNs(ts);
}

ClockPair ClockPair::Now() {
  ClockPair pair;
  pair.realtime_ns = RealtimeNs();
  pair.monotonic_ns = MonotonicNs();
  return pair;
}

double ClockPair::MonotonicMsOf(int64_t realtime_stamp_ns) const {
  int64_t age_ns = realtime_ns - realtime_stamp_ns;
  // A stamp "from the future" can only come from a wall-clock step between
  // the kernel's stamp and our reading: treat it as just received.
  if (age_ns < 0) age_ns = 0;
  return static_cast<double>(monotonic_ns - age_ns) / 1e6;
}

}  // namespace netping
