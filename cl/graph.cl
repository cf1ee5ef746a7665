/* The sparse graph-Laplacian objective and its gradient (METHOD.md 3),
 * one work-item per node: rows own their edges, so every sum has a fixed
 * order and no float atomics are needed. Arithmetic follows
 * src/backend/host.c (the reference arithmetic that ref.c and cpu.c
 * share); see rbpe_graph_op in src/backend/backend.h. */
#pragma OPENCL FP_CONTRACT OFF

/* Must equal RBPE_GRAPH_QCUT in backend.h (passed in as qcut). */

__kernel void graph_edges(const uint n, const uint nnz, const uint ndim,
                          const uint ndir, const uint D, const uint C,
                          const float b, const float eps, const float gamma,
                          const float qcut, __global const float *x,
                          __global const float *sig, __global const float *y,
                          __global const float *dirs,
                          __global const uint *row, __global const uint *col,
                          __global float *theta, __global float *dd,
                          __global float *cc) {
  uint i = get_global_id(0);
  if (i >= n) return;
  float si = sig[i];
  float qc = b == 1.0f ? qcut : pow(qcut, 1.0f / b);
  float ri = si * sqrt(2.0f * qc);
  float inv_i = 1.0f / (2.0f * si * si), step = 1.0f / (float)D;
  for (uint e = row[i]; e < row[i + 1] && e < nnz; e++) {
    uint j = col[e] < n ? col[e] : i;
    float sj = sig[j], rj = sj * sqrt(2.0f * qc);
    float inv_j = 1.0f / (2.0f * sj * sj);
    float d2 = 0.0f, de = 0.0f;
    for (uint a = 0; a < ndir; a++) {
      __global const float *al = dirs + a * (ndim + 1u);
      float pi = al[ndim], pj = al[ndim];
      for (uint k = 0; k < ndim; k++) {
        pi += al[k] * x[i * ndim + k];
        pj += al[k] * x[j * ndim + k];
      }
      float lo = fmin(pi - ri, pj - rj), hi = fmax(pi + ri, pj + rj);
      int t0 = (int)ceil(lo * (float)D - 0.5f), t1 = (int)floor(hi * (float)D - 0.5f);
      if (t0 < 0) t0 = 0;
      if (t1 > (int)D - 1) t1 = (int)D - 1;
      for (int t = t0; t <= t1; t++) {
        float tc = ((float)t + 0.5f) * step;
        float di = pi - tc, dj = pj - tc;
        float qi = (di * di) * inv_i, qj = (dj * dj) * inv_j;
        float qbi = powb(qi, b), qbj = powb(qj, b);
        float ei = exp(-qbi), ej = exp(-qbj);
        float diff = ei - ej;
        d2 += diff * diff;
        de += diff * (ei * qbi);
      }
    }
    float th = exp(-d2 / (2.0f * eps * eps));
    float cy = 0.0f;
    for (uint ch = 0; ch < C; ch++) {
      float t = y[i * C + ch] - y[j * C + ch];
      cy += t * t;
    }
    theta[e] = th;
    dd[e] = de * (4.0f * b / si);
    cc[e] = cy - 2.0f * gamma;
  }
}

__kernel void graph_degree(const uint n, const uint nnz,
                           __global const uint *row,
                           __global const float *theta, __global float *rho) {
  uint i = get_global_id(0);
  if (i >= n) return;
  float r = 0.0f;
  for (uint e = row[i]; e < row[i + 1] && e < nnz; e++) r += theta[e];
  rho[i] = r;
}

inline float norm_pow(float ri, float rj, float lam) {
  return lam == 0.0f ? 1.0f : pow(ri * rj, -lam);
}

__kernel void graph_nodes(const uint n, const uint nnz, const float lam,
                          __global const uint *row, __global const uint *col,
                          __global const float *theta,
                          __global const float *cc,
                          __global const float *rho, __global float *jpart,
                          __global float *g) {
  uint i = get_global_id(0);
  if (i >= n) return;
  float acc = 0.0f;
  for (uint e = row[i]; e < row[i + 1] && e < nnz; e++) {
    uint j = col[e] < n ? col[e] : i;
    if (theta[e] > 0.0f) acc += theta[e] * norm_pow(rho[i], rho[j], lam) * cc[e];
  }
  jpart[i] = 0.5f * acc;
  g[i] = (lam != 0.0f && rho[i] > 0.0f) ? -lam * acc / rho[i] : 0.0f;
}

__kernel void graph_grad(const uint n, const uint nnz, const float lam,
                         const float eps, __global const uint *row,
                         __global const uint *col,
                         __global const float *theta,
                         __global const float *cc, __global const float *rho,
                         __global const float *g, __global const float *dd,
                         __global const float *scale, __global float *grad) {
  uint i = get_global_id(0);
  if (i >= n) return;
  float k = -1.0f / (2.0f * eps * eps);
  float acc = 0.0f;
  for (uint e = row[i]; e < row[i + 1] && e < nnz; e++) {
    uint j = col[e] < n ? col[e] : i;
    if (theta[e] > 0.0f) {
      float dJdtheta = cc[e] * norm_pow(rho[i], rho[j], lam) + g[i] + g[j];
      acc += dJdtheta * (k * theta[e]) * dd[e];
    }
  }
  grad[i] = scale[i] * acc;
}

__kernel void sigma_param(const uint total, const float smin, const float smax,
                          __global const float *s, __global const float *lfac,
                          __global float *sigma, __global float *dsig) {
  uint i = get_global_id(0);
  if (i >= total) return;
  float l = 1.0f / (1.0f + exp(-s[i]));
  sigma[i] = lfac[i] * (smin + (smax - smin) * l);
  dsig[i] = lfac[i] * ((smax - smin) * (l * (1.0f - l)));
}

/* Stage 1 of a plain sum: work-item g adds elements [g*chunk, (g+1)*chunk). */
__kernel void sum_partial(const uint total, const uint chunk, const uint parts,
                          __global const float *a, __global float *partial) {
  uint g = get_global_id(0);
  if (g >= parts) return;
  uint lo = g * chunk, hi = min(total, lo + chunk);
  float s = 0.0f;
  for (uint i = lo; i < hi; i++) s += a[i];
  partial[g] = s;
}
