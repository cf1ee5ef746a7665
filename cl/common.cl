/* Helpers shared by every program: prepended to each .cl file at build
 * time. The same arithmetic as src/backend/host.c, operation for operation. */
#pragma OPENCL FP_CONTRACT OFF

/* q^b for the rbf order b. Integer orders up to 64 (1, 2, 4: the ones in
 * use) by binary powering, the same products in the same order as
 * rbpe_powb in host.c, so every backend rounds alike; OpenCL's pow may be
 * 16 ulp off and differs between vendors. Other orders go to pow. */
inline float powb(float q, float b) {
  if (b == 1.0f) return q;
  if (b >= 2.0f && b <= 64.0f && b == (float)(uint)b) {
    uint n = (uint)b;
    float r = 1.0f, x = q;
    while (n) {
      if (n & 1u) r *= x;
      n >>= 1;
      if (n) x *= x;
    }
    return r;
  }
  return pow(q, b);
}
