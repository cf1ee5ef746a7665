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

/* Its weight gradient: dW (ndir D x n) = dense(X)^T G. A work-group owns
 * 4 get_local_size(1) centres of one direction (group row y: direction
 * y / jblocks, block y % jblocks) and get_local_size(0) columns; each
 * work-item owns 4 centres of one column. The rows go by in chunks of one
 * per work-item: their starts wait in local memory, and a row whose
 * window misses the group's centres is skipped by the whole group, so the
 * group only multiplies rows near its centres. Every element adds its rows
 * in ascending order. At most 256 work-items a group. */
__kernel void band_wgrad(const uint rows, const uint n, const uint ndir,
                         const uint D, const uint W, const uint jblocks,
                         __global const float *X, __global const float *G,
                         __global float *dW) {
  __local uint starts[256];
  const uint lh = get_local_size(0), lj = get_local_size(1);
  const uint tid = get_local_id(1) * lh + get_local_id(0), chunk = lh * lj;
  const uint h = get_global_id(0), y = get_group_id(1);
  const uint a = y / jblocks, jb = (y % jblocks) * 4u * lj;
  const uint j = jb + 4u * get_local_id(1), cols = ndir * (W + 1u);
  float acc0 = 0.0f, acc1 = 0.0f, acc2 = 0.0f, acc3 = 0.0f;
  for (uint i0 = 0; i0 < rows; i0 += chunk) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (i0 + tid < rows)
      starts[tid] = band_start(X[(i0 + tid) * cols + a], D, W);
    barrier(CLK_LOCAL_MEM_FENCE);
    uint end = rows - i0 < chunk ? rows - i0 : chunk;
    for (uint r = 0; r < end; r++) {
      uint s = starts[r];
      /* the group's centres [jb, jb + 4 lj) against the window [s, s + W) */
      if (s >= jb + 4u * lj || s + W <= jb) continue;
      __global const float *v = X + (i0 + r) * cols + ndir + a * W;
      float g = h < n ? G[(i0 + r) * n + h] : 0.0f;
      uint k = j - s; /* wraps when j < s */
      if (k < W) acc0 += v[k] * g;
      if (k + 1u < W) acc1 += v[k + 1u] * g;
      if (k + 2u < W) acc2 += v[k + 2u] * g;
      if (k + 3u < W) acc3 += v[k + 3u] * g;
    }
  }
  if (h >= n) return;
  __global float *d = dW + (a * D + j) * n + h;
  if (j < D) d[0] = acc0;
  if (j + 1u < D) d[n] = acc1;
  if (j + 2u < D) d[2u * n] = acc2;
  if (j + 3u < D) d[3u * n] = acc3;
}
