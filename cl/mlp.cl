/* MLP ops (METHOD.md section 6) other than GEMM, which is CLBlast's. One
 * work-item per element unless said otherwise; the arithmetic follows
 * src/backend/host.c (the reference arithmetic that ref.c and cpu.c
 * share). Reductions have a fixed assignment of elements to
 * work-items and a fixed summation order: results never depend on
 * scheduling, and no float atomics are used. */
#pragma OPENCL FP_CONTRACT OFF

#define ACT_NONE 0u
#define ACT_RELU 1u
#define ACT_SIGMOID 2u

__kernel void bias_act(const uint total, const uint cols, const uint act,
                       __global const float *bias, __global float *x) {
  uint g = get_global_id(0);
  if (g >= total) return;
  float z = x[g] + bias[g % cols];
  if (act == ACT_RELU)
    z = z > 0.0f ? z : 0.0f;
  else if (act == ACT_SIGMOID)
    z = 1.0f / (1.0f + exp(-z));
  x[g] = z;
}

/* A layer's backward pass through its activation, fused (act_grad in
 * src/backend/backend.h). Stage 1: work-item g = p * cols + j takes column
 * j of the rows [p * chunk, (p + 1) * chunk): each grad element becomes
 * g * act'(y), g = grad or scale * (y - target) (the MSE gradient), and
 * the chunk's sum goes to partial[g]. Neighbouring work-items read
 * neighbouring columns, so the loads coalesce; parts x cols work-items
 * keep a GPU busy where one per column (cols of them) did not. */
__kernel void act_grad_partial(const uint rows, const uint cols,
                               const uint act, const uint has_target,
                               const float scale, const uint chunk,
                               const uint parts, __global const float *y,
                               __global const float *target,
                               __global float *grad,
                               __global float *partial) {
  uint g = get_global_id(0);
  if (g >= parts * cols) return;
  uint j = g % cols, p = g / cols;
  uint lo = p * chunk, hi = min(rows, lo + chunk);
  float s = 0.0f;
  for (uint i = lo; i < hi; i++) {
    uint e = i * cols + j;
    float v = y[e], d = has_target ? scale * (v - target[e]) : grad[e];
    if (act == ACT_RELU)
      d = v > 0.0f ? d : 0.0f;
    else if (act == ACT_SIGMOID)
      d = d * (v * (1.0f - v));
    grad[e] = d;
    s += d;
  }
  partial[g] = s;
}

/* Stage 2: out[j] = column j's partial sums, chunks in ascending order. */
__kernel void col_sum_partials(const uint cols, const uint parts,
                               __global const float *partial,
                               __global float *out) {
  uint j = get_global_id(0);
  if (j >= cols) return;
  float s = 0.0f;
  for (uint p = 0; p < parts; p++) s += partial[p * cols + j];
  out[j] = s;
}

/* Stage 1 of sum (a - b)^2: work-item g sums elements [g*chunk, (g+1)*chunk). */
__kernel void sq_diff_partial(const uint total, const uint chunk,
                              const uint parts, __global const float *a,
                              __global const float *b,
                              __global float *partial) {
  uint g = get_global_id(0);
  if (g >= parts) return;
  uint lo = g * chunk, hi = min(total, lo + chunk);
  float s = 0.0f;
  for (uint i = lo; i < hi; i++) {
    float d = a[i] - b[i];
    s += d * d;
  }
  partial[g] = s;
}

/* Stage 2: one work-item adds the partial sums in order. */
__kernel void sum_partials(const uint parts, __global const float *partial,
                           __global float *out) {
  if (get_global_id(0) != 0) return;
  float s = 0.0f;
  for (uint i = 0; i < parts; i++) s += partial[i];
  out[0] = s;
}

__kernel void adam(const uint total, const float lr, const float beta1,
                   const float beta2, const float eps, const float c1,
                   const float c2, __global float *p,
                   __global const float *grad, __global float *m,
                   __global float *v) {
  uint i = get_global_id(0);
  if (i >= total) return;
  float g = grad[i];
  float mi = beta1 * m[i] + (1.0f - beta1) * g;
  float vi = beta2 * v[i] + (1.0f - beta2) * (g * g);
  m[i] = mi;
  v[i] = vi;
  float mhat = mi / c1, vhat = vi / c2;
  p[i] -= lr * mhat / (sqrt(vhat) + eps);
}

/* dst row r = src row idx[offset + r]; an out-of-range index gives zeros. */
__kernel void gather_rows(const uint total, const uint cols,
                          const uint src_rows, const uint offset,
                          __global const float *src,
                          __global const uint *idx, __global float *dst) {
  uint g = get_global_id(0);
  if (g >= total) return;
  uint r = g / cols, j = g % cols;
  uint s = idx[offset + r];
  dst[g] = s < src_rows ? src[s * cols + j] : 0.0f;
}

/* out[offset + g] = value. A kernel rather than clEnqueueFillBuffer:
 * oclgrind 21.10 mis-tracks kernel writes into buffers filled that way
 * and reports their later reads as uninitialised. */
__kernel void fill(const uint total, const uint offset, const float value,
                   __global float *out) {
  uint g = get_global_id(0);
  if (g >= total) return;
  out[offset + g] = value;
}

/* A stored band start read back, clamped into [0, D - W] (NaN: 0), as
 * host.h's rbpe_host_band_start: no row addresses outside the weights. */
inline uint band_start(float s, uint D, uint W) {
  return s >= 0.0f ? (s <= (float)(D - W) ? (uint)s : D - W) : 0u;
}

/* The banded first layer (backend.h, rbpe_band): out (rows x n) =
 * dense(X) Wt, Wt (ndir D x n); one work-item per output element, summing
 * its row's window direction by direction, centres in ascending order
 * (host.c's order and operations). */
__kernel void band_gemm(const uint total, const uint n, const uint ndir,
                        const uint D, const uint W, __global const float *X,
                        __global const float *Wt, __global float *out) {
  uint g = get_global_id(0);
  if (g >= total) return;
  uint i = g / n, h = g % n, cols = ndir * (W + 1u);
  __global const float *row = X + i * cols;
  float acc = 0.0f;
  for (uint a = 0; a < ndir; a++) {
    uint s = band_start(row[a], D, W);
    __global const float *v = row + ndir + a * W;
    __global const float *w = Wt + (a * D + s) * n + h;
    for (uint k = 0; k < W; k++) acc += v[k] * w[k * n];
  }
  out[g] = acc;
}

/* Its weight gradient: dW (ndir D x n) = dense(X)^T G; one work-item per
 * element (centre m = a D + j, column h), over every row in ascending
 * order, adding the rows whose window holds centre j. For cross-checks:
 * it visits all rows for every element (rbpe_backend.band_pays is 0 on
 * OpenCL, where fits keep the dense GEMM). */
__kernel void band_wgrad(const uint total, const uint rows, const uint n,
                         const uint ndir, const uint D, const uint W,
                         __global const float *X, __global const float *G,
                         __global float *dW) {
  uint g = get_global_id(0);
  if (g >= total) return;
  uint m = g / n, h = g % n, a = m / D, j = m % D, cols = ndir * (W + 1u);
  float acc = 0.0f;
  for (uint i = 0; i < rows; i++) {
    __global const float *row = X + i * cols;
    uint k = j - band_start(row[a], D, W); /* wraps when j < start */
    if (k < W) acc += row[ndir + a * W + k] * G[i * n + h];
  }
  dW[g] = acc;
}
