/* Positional embeddings (METHOD.md section 2), one work-item per output
 * element of the n x M result. The arithmetic follows src/backend/host.c
 * (the reference arithmetic that ref.c and cpu.c share) operation for
 * operation; contraction into FMA is off so both round the same way. Sizes arrive as uint: the host refuses grids above 2^32. */
#pragma OPENCL FP_CONTRACT OFF

#define PI_F 3.14159265358979323846f

/* nerf: per axis a, p = 2x - 1, (sin(2^l pi p), cos(2^l pi p)), l < L. */
__kernel void embed_nerf(const uint total, const uint ndim, const uint L,
                         __global const float *x, __global float *out) {
  uint g = get_global_id(0);
  if (g >= total) return;
  uint M = 2u * L * ndim;
  uint i = g / M, r = g % M;
  uint a = r / (2u * L), l = (r % (2u * L)) / 2u;
  float p = 2.0f * x[i * ndim + a] - 1.0f;
  float arg = (float)(1u << l) * PI_F * p;
  out[g] = (r & 1u) ? cos(arg) : sin(arg);
}

/* rff: [sin(2 pi B x), cos(2 pi B x)], B is F x ndim. */
__kernel void embed_rff(const uint total, const uint ndim, const uint F,
                        __global const float *x, __global const float *B,
                        __global float *out) {
  uint g = get_global_id(0);
  if (g >= total) return;
  uint i = g / (2u * F), r = g % (2u * F);
  uint f = r % F;
  float v = 0.0f;
  for (uint a = 0; a < ndim; a++) v += B[f * ndim + a] * x[i * ndim + a];
  float arg = (2.0f * PI_F) * v;
  out[g] = (r < F) ? sin(arg) : cos(arg);
}

/* rbf: exp(-q^b), q = (offset_a + x.alpha_a - t_j)^2 / (2 sigma_i^2),
 * t_j = (j + 0.5)/D; with deriv, d/dsigma = exp(-q^b) 2 b q^b / sigma.
 * norm_ref > 0 scales by h = sqrt(norm_ref / sigma_i), and the derivative
 * becomes h exp(-q^b) (2 b q^b - 1/2) / sigma (host.c's arithmetic). */
/* row i's projection on direction a: offset_a + x_i . alpha_a */
inline float rbf_proj(uint i, uint a, uint ndim, __global const float *x,
                      __global const float *dirs) {
  __global const float *al = dirs + a * (ndim + 1u);
  float p = al[ndim];
  for (uint k = 0; k < ndim; k++) p += al[k] * x[i * ndim + k];
  return p;
}

/* centre j's value (or sigma derivative) at projection p, sigma s */
inline float rbf_phi(float p, uint j, uint D, float s, float b, int deriv,
                     float norm_ref) {
  float t = ((float)j + 0.5f) / (float)D;
  float d = p - t;
  float q = (d * d) / (2.0f * s * s);
  float qb = powb(q, b);
  float e = exp(-qb);
  float h = norm_ref > 0.0f ? sqrt(norm_ref / s) : 1.0f;
  float shift = norm_ref > 0.0f ? 0.5f : 0.0f;
  return deriv ? (h * e) * (2.0f * b * qb - shift) / s : h * e;
}

inline float rbf_value(uint g, uint ndim, uint ndir, uint D, float b,
                       __global const float *x, __global const float *sigma,
                       __global const float *dirs, int deriv, float norm_ref) {
  uint M = ndir * D;
  uint i = g / M, r = g % M;
  uint a = r / D, j = r % D;
  return rbf_phi(rbf_proj(i, a, ndim, x, dirs), j, D, sigma[i], b, deriv,
                 norm_ref);
}

__kernel void embed_rbf(const uint total, const uint ndim, const uint ndir,
                        const uint D, const float b, __global const float *x,
                        __global const float *sigma,
                        __global const float *dirs, __global float *out,
                        const float norm_ref) {
  uint g = get_global_id(0);
  if (g >= total) return;
  out[g] = rbf_value(g, ndim, ndir, D, b, x, sigma, dirs, 0, norm_ref);
}

__kernel void embed_rbf_dsigma(const uint total, const uint ndim,
                               const uint ndir, const uint D, const float b,
                               __global const float *x,
                               __global const float *sigma,
                               __global const float *dirs,
                               __global float *out, const float norm_ref) {
  uint g = get_global_id(0);
  if (g >= total) return;
  out[g] = rbf_value(g, ndim, ndir, D, b, x, sigma, dirs, 1, norm_ref);
}

/* A window's first centre, host.c's rbpe_host_band_first: the first t_j
 * >= p - r, clamped into [0, D - W]. */
inline uint band_first(float p, float r, uint D, uint W) {
  float lo = (p - r) * (float)D - 0.5f;
  if (!(lo > 0.0f)) return 0u;
  if (lo >= (float)(D - W)) return D - W;
  return (uint)ceil(lo);
}

/* Banded rbf rows (backend.h, rbpe_band): one work-item per stored value
 * of the n x ndir (W + 1) result; a start, or the value of centre
 * start + k in direction a, computed as rbf_value computes it. */
__kernel void embed_rbf_band(const uint total, const uint ndim,
                             const uint ndir, const uint D, const float b,
                             __global const float *x,
                             __global const float *sigma,
                             __global const float *dirs, __global float *out,
                             const float norm_ref, const uint W,
                             const float reach) {
  uint g = get_global_id(0);
  if (g >= total) return;
  uint cols = ndir * (W + 1u);
  uint i = g / cols, r = g % cols;
  uint a = r < ndir ? r : (r - ndir) / W;
  float p = rbf_proj(i, a, ndim, x, dirs), s = sigma[i];
  uint j0 = band_first(p, reach * s, D, W);
  out[g] = r < ndir ? (float)j0
                    : rbf_phi(p, j0 + (r - ndir) % W, D, s, b, 0, norm_ref);
}
