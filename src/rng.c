/* The project's one seeded generator: splitmix64 (Steele, Lea & Flood
 * 2014), a counter-based mixer: same seed, same stream, on every host. */
#include <math.h>

#include "rbpe.h"

void rbpe_rng_seed(rbpe_rng *rng, uint64_t seed) { rng->state = seed; }

uint64_t rbpe_rng_u64(rbpe_rng *rng) {
  uint64_t z = (rng->state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

float rbpe_rng_uniform(rbpe_rng *rng) {
  return (float)(rbpe_rng_u64(rng) >> 40) * (1.0f / 16777216.0f);
}

uint64_t rbpe_rng_below(rbpe_rng *rng, uint64_t bound) {
  /* rejection: accept only values below the largest multiple of bound */
  uint64_t limit = UINT64_MAX - UINT64_MAX % bound;
  uint64_t v;
  do v = rbpe_rng_u64(rng);
  while (v >= limit);
  return v % bound;
}

float rbpe_rng_normal(rbpe_rng *rng) {
  /* u1 in (0, 1] so the log is finite */
  double u1 = ((double)(rbpe_rng_u64(rng) >> 11) + 1.0) / 9007199254740992.0;
  double u2 = (double)(rbpe_rng_u64(rng) >> 11) / 9007199254740992.0;
  return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}
