/* rbpe's own GEMM (ARCHITECTURE.md, backend ops): row-major
 * C (m x n) = alpha op(A) op(B) + beta C for the MLP's shapes, one program
 * per tile configuration, the configuration given as build-time macros:
 *
 *   MWG, NWG  rows and columns of C per work-group (powers of two)
 *   KWG       values of k per step through local memory
 *   MDIM, NDIM  work-items along m and n; each holds a register tile of
 *             (MWG / MDIM) x (NWG / NDIM) sums
 *   VW        1, 2 or 4: a work-item's rows come in runs of VW, run r at
 *             (tm + r MDIM) VW, and its columns likewise, so each step
 *             reads its values from local memory as float, float2 or float4
 *             and neighbouring work-items read neighbouring words
 *
 * Local memory is double-buffered: the next step's values are loaded from
 * global memory into registers while this step's products run, then stored
 * in the other buffer; one barrier per step. Every sum of C runs over k in
 * ascending order, so an unsplit product depends on neither the tile sizes
 * nor the schedule. The weight gradient's product (k = the batch, C small)
 * is split over k into `splits` chunks of kchunk (the row tiles of each
 * chunk along dimension 1 of the range): each chunk's sums go to part, and
 * gemm_split_sum adds the chunks in ascending order (the chunks fixed by
 * the shapes, the tiles and the device's compute units). Values past
 * the edges of A and B are read as zeros and never written. Index
 * arithmetic is 32-bit: the host sends matrices of 2^32 or more values to
 * CLBlast. epi > 0 fuses a layer's bias and activation into the store
 * (beta is 0 then): C = act(alpha op(A) op(B) + bias), act = epi - 1 in
 * mlp.cl's numbering, the same operations as its bias_act kernel, so the
 * result is the one GEMM then bias_act give. The products use mad(), which every device here contracts to a
 * fused multiply-add or a multiply and an add: llvmpipe (rusticl) gave sums
 * off by the sums' own size through fma() in long loops over k. */

#ifndef MWG
#define MWG 64
#endif
#ifndef NWG
#define NWG 64
#endif
#ifndef KWG
#define KWG 16
#endif
#ifndef MDIM
#define MDIM 16
#endif
#ifndef NDIM
#define NDIM 16
#endif
#ifndef VW
#define VW 1
#endif

#if VW == 4
typedef float4 floatv;
#define COMP(v, i) ((i) == 0 ? (v).x : (i) == 1 ? (v).y : (i) == 2 ? (v).z : (v).w)
#elif VW == 2
typedef float2 floatv;
#define COMP(v, i) ((i) == 0 ? (v).x : (v).y)
#else
typedef float floatv;
#define COMP(v, i) (v)
#endif

#define WPTM (MWG / MDIM)
#define WPTN (NWG / NDIM)
#define WGS (MDIM * NDIM)
/* a tile's values per work-item (the host keeps these whole) */
#define ALOADS (MWG * KWG / WGS)
#define BLOADS (NWG * KWG / WGS)
/* local rows padded by one word (VW words, keeping vector reads aligned):
 * a column walk changes bank every step */
#define LDAL (MWG + VW)
#define LDBL (NWG + VW)

/* A tile of W rows of op(A) (or columns of op(B)) by KWG values of k into
 * registers: element (x, p) is M[p ld + x] when the matrix is stored with
 * k along its rows (op(A) = A^T, op(B) = B), else M[x ld + p]; work-item
 * neighbours read neighbouring addresses either way */
inline void gemm_load(const int kmajor, const uint W, const uint loads,
                      __global const float *M, const uint ld, const uint rows,
                      const uint x0, const uint p0, const uint pend,
                      const uint tid, float *r) {
  for (uint l = 0; l < loads; l++) {
    uint e = tid + l * WGS;
    uint x = kmajor ? e % W : e / KWG, p = kmajor ? e / W : e % KWG;
    uint gx = x0 + x, gp = p0 + p;
    r[l] = gx < rows && gp < pend ? (kmajor ? M[gp * ld + gx] : M[gx * ld + gp])
                                  : 0.0f;
  }
}

/* ... and from registers into local memory, k-major: t[p ldl + x] */
inline void gemm_store(const int kmajor, const uint W, const uint loads,
                       const uint ldl, __local float *t, const uint tid,
                       const float *r) {
  for (uint l = 0; l < loads; l++) {
    uint e = tid + l * WGS;
    uint x = kmajor ? e % W : e / KWG, p = kmajor ? e / W : e % KWG;
    t[p * ldl + x] = r[l];
  }
}

/* a layer's output: act(v + bias), act = epi - 1 (0 none, 1 ReLU, 2
 * sigmoid), as mlp.cl's bias_act computes it */
inline float gemm_epi(float v, const uint epi, __global const float *bias,
                      const uint j) {
  if (epi == 0u) return v;
  float z = v + bias[j];
  if (epi == 2u)
    z = z > 0.0f ? z : 0.0f;
  else if (epi == 3u)
    z = 1.0f / (1.0f + exp(-z));
  return z;
}

inline void gemm_tile(const int ta, const int tb, const uint m, const uint n,
                      const uint k, const uint kchunk, const float alpha,
                      const float beta, __global const float *A,
                      const uint lda, __global const float *B, const uint ldb,
                      __global float *C, const uint ldc,
                      __global float *part, __global const float *bias,
                      const uint epi, __local float *as, __local float *bs) {
  const uint tn = get_local_id(0), tm = get_local_id(1);
  const uint tid = tm * NDIM + tn;
  /* dimension 1 holds the row tiles of every chunk, chunk by chunk */
  const uint mtiles = (m + MWG - 1) / MWG, g1 = get_group_id(1);
  const uint i0 = g1 % mtiles * MWG, j0 = get_group_id(0) * NWG;
  const uint split = g1 / mtiles;
  const uint kbeg = split * kchunk, kend = min(k, kbeg + kchunk);
  const uint steps = (kend - kbeg + KWG - 1) / KWG;
  float acc[WPTM][WPTN];
  for (int r = 0; r < WPTM; r++)
    for (int c = 0; c < WPTN; c++) acc[r][c] = 0.0f;
  float ra[ALOADS], rb[BLOADS];
  gemm_load(ta, MWG, ALOADS, A, lda, m, i0, kbeg, kend, tid, ra);
  gemm_load(!tb, NWG, BLOADS, B, ldb, n, j0, kbeg, kend, tid, rb);
  gemm_store(ta, MWG, ALOADS, LDAL, as, tid, ra);
  gemm_store(!tb, NWG, BLOADS, LDBL, bs, tid, rb);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = 0; s < steps; s++) {
    __local const float *al = as + (s & 1u) * (KWG * LDAL);
    __local const float *bl = bs + (s & 1u) * (KWG * LDBL);
    const int more = s + 1 < steps;
    if (more) {
      uint p0 = kbeg + (s + 1) * KWG;
      gemm_load(ta, MWG, ALOADS, A, lda, m, i0, p0, kend, tid, ra);
      gemm_load(!tb, NWG, BLOADS, B, ldb, n, j0, p0, kend, tid, rb);
    }
    for (int p = 0; p < KWG; p++) {
      __local const floatv *av = (__local const floatv *)(al + p * LDAL);
      __local const floatv *bv = (__local const floatv *)(bl + p * LDBL);
      floatv a[WPTM / VW], b[WPTN / VW];
      for (int r = 0; r < WPTM / VW; r++) a[r] = av[tm + r * MDIM];
      for (int c = 0; c < WPTN / VW; c++) b[c] = bv[tn + c * NDIM];
      for (int r = 0; r < WPTM; r++)
        for (int c = 0; c < WPTN; c++)
          acc[r][c] = mad(COMP(a[r / VW], r % VW), COMP(b[c / VW], c % VW),
                          acc[r][c]);
    }
    if (more) {
      gemm_store(ta, MWG, ALOADS, LDAL, as + ((s + 1) & 1u) * (KWG * LDAL),
                 tid, ra);
      gemm_store(!tb, NWG, BLOADS, LDBL, bs + ((s + 1) & 1u) * (KWG * LDBL),
                 tid, rb);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  for (int r = 0; r < WPTM; r++) {
    uint i = i0 + (tm + (uint)(r / VW) * MDIM) * VW + (uint)(r % VW);
    if (i >= m) continue;
    for (int c = 0; c < WPTN; c++) {
      uint j = j0 + (tn + (uint)(c / VW) * NDIM) * VW + (uint)(c % VW);
      if (j >= n) continue;
      if (part) {
        part[((size_t)split * m + i) * n + j] = acc[r][c];
      } else {
        __global float *y = C + i * ldc + j;
        *y = gemm_epi(beta == 0.0f ? alpha * acc[r][c]
                                   : alpha * acc[r][c] + beta * *y,
                      epi, bias, j);
      }
    }
  }
}

/* One kernel per transpose pair; part is C's split sums (NULL: C itself);
 * bias and epi: the fused epilogue (epi 0: none, bias unread) */
#define GEMM_KERNEL(NAME, TA, TB)                                            \
  __kernel __attribute__((reqd_work_group_size(NDIM, MDIM, 1))) void NAME(  \
      const uint m, const uint n, const uint k, const uint kchunk,           \
      const float alpha, const float beta, __global const float *A,          \
      const uint lda, __global const float *B, const uint ldb,               \
      __global float *C, const uint ldc, __global float *part,               \
      const uint use_part, __global const float *bias, const uint epi) {     \
    __local floatv as[2 * KWG * LDAL / VW], bs[2 * KWG * LDBL / VW];         \
    gemm_tile(TA, TB, m, n, k, kchunk, alpha, beta, A, lda, B, ldb, C, ldc,  \
              use_part ? part : 0, bias, epi, (__local float *)as,           \
              (__local float *)bs);                                          \
  }

GEMM_KERNEL(gemm_nn, 0, 0)
GEMM_KERNEL(gemm_nt, 0, 1)
GEMM_KERNEL(gemm_tn, 1, 0)
GEMM_KERNEL(gemm_tt, 1, 1)

/* C = alpha (the split sums of each element, chunks in ascending order)
 * + beta C, through the epilogue */
__kernel void gemm_split_sum(const uint m, const uint n, const uint splits,
                             const float alpha, const float beta,
                             __global const float *part, __global float *C,
                             const uint ldc, __global const float *bias,
                             const uint epi) {
  uint g = get_global_id(0);
  if (g >= m * n) return;
  uint i = g / n, j = g % n;
  float s = 0.0f;
  for (uint q = 0; q < splits; q++) s += part[(size_t)q * m * n + g];
  __global float *y = C + i * ldc + j;
  *y = gemm_epi(beta == 0.0f ? alpha * s : alpha * s + beta * *y, epi, bias, j);
}
