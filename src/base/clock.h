/* Wall-clock seconds from a monotonic clock, for timings in reports. */
#ifndef RBPE_CLOCK_H
#define RBPE_CLOCK_H

#include <time.h>

static inline double rbpe_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#endif
