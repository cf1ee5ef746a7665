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
 * off by the sums' own size through fma() in long loops over k.
 *
 *   MMA       0: the products above. 1: NVIDIA tensor cores (compute
 *             capability 8.0 on) through inline PTX: error-compensated
 *             3xTF32 (each float x = hi + lo, hi = tf32(x), lo = tf32(x -
 *             hi); a b = hi(a) hi(b) + hi(a) lo(b) + lo(a) hi(b), the lo lo
 *             term, below 2^-22 of the product, left out: CUTLASS's
 *             technique), with mma.sync m16n8k8 on warps of 32 work-items.
 *             2: the same kernel with each mma.sync done by the warp's
 *             work-items through local memory, for checking the tiling on
 *             any device (tests). A warp's sums over one k step of 8 are
 *             the hardware's (order and rounding inside the step its own),
 *             the steps in ascending k: deterministic, not the bits of MMA 0.
 *             3 and 4: as 1 and 2, each value split into hi and lo once, as
 *             it goes into local memory (pairs of words), instead of by
 *             every warp that reads it.
 *   MMA_WN    warps along n (the host's choice, with MMA): each warp holds
 *             (MWG / (warps / MMA_WN)) x (NWG / MMA_WN) sums of C in
 *             m16n8 fragments */

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
#ifndef MMA
#define MMA 0
#endif
/* tensor cores (else emulated); values split as they are stored */
#define MMA_HW (MMA == 1 || MMA == 3)
#define MMA_PS (MMA >= 3)
/* local memory holds k-major rows of floats, or with MMA_PS of (hi, lo)
 * pairs */
#if MMA_PS
typedef float2 lelem;
#else
typedef float lelem;
#endif
#if MMA_PS
/* rows of pairs padded by 4 pairs: a fragment load (64 bits, 16
 * work-items a phase) reads 4 neighbouring pairs at 4 values of k, 8 banks
 * apart */
#define LDAL (MWG + 4)
#define LDBL (NWG + 4)
#elif MMA
/* rows padded by 8 words: a fragment load reads 8 neighbouring values at
 * 4 values of k, 8 banks apart, so a warp's 32 work-items read 32 banks */
#define LDAL (MWG + 8)
#define LDBL (NWG + 8)
#else
/* rows padded by one word (VW words, keeping vector reads aligned): a
 * column walk changes bank every step */
#define LDAL (MWG + VW)
#define LDBL (NWG + VW)
#endif
#if MMA
#define WARPS (WGS / 32)
#define WTM (MWG / (WARPS / MMA_WN))
#define WTN (NWG / MMA_WN)
#define MFR (WTM / 16)
#define NFR (WTN / 8)
#endif

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

inline void tf32_split(const float x, uint *hi, uint *lo);

/* ... and from registers into local memory, k-major: t[p ldl + x] (with
 * MMA_PS the value's tf32 pair hi, lo) */
inline void gemm_store(const int kmajor, const uint W, const uint loads,
                       const uint ldl, __local lelem *t, const uint tid,
                       const float *r) {
  for (uint l = 0; l < loads; l++) {
    uint e = tid + l * WGS;
    uint x = kmajor ? e % W : e / KWG, p = kmajor ? e / W : e % KWG;
#if MMA_PS
    uint hi, lo;
    tf32_split(r[l], &hi, &lo);
    t[p * ldl + x] = (float2)(as_float(hi), as_float(lo));
#else
    t[p * ldl + x] = r[l];
#endif
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

/* one value of C (or of its split sums) from its sum */
inline void gemm_put(const uint i, const uint j, const float v, const uint m,
                     const uint n, const uint split, const float alpha,
                     const float beta, __global float *C, const uint ldc,
                     __global float *part, __global const float *bias,
                     const uint epi) {
  if (i >= m || j >= n) return;
  if (part) {
    part[((size_t)split * m + i) * n + j] = v;
  } else {
    __global float *y = C + i * ldc + j;
    *y = gemm_epi(beta == 0.0f ? alpha * v : alpha * v + beta * *y, epi, bias,
                  j);
  }
}

/* x as tf32 (10 bits of mantissa, rounded to nearest, ties away from
 * zero), its low 13 bits zero */
#if MMA_HW
inline uint tf32_rna(const float x) {
  uint r;
  asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
  return r & 0xffffe000u;
}
#else
inline uint tf32_rna(const float x) {
  return (as_uint(x) + 0x1000u) & 0xffffe000u;
}
#endif

/* x = hi + lo, both tf32 */
inline void tf32_split(const float x, uint *hi, uint *lo) {
  *hi = tf32_rna(x);
  *lo = tf32_rna(x - as_float(*hi));
}

/* a fragment value's tf32 pair: split when stored (MMA_PS), else here */
inline void frag_split(const lelem v, uint *hi, uint *lo) {
#if MMA_PS
  *hi = as_uint(v.x);
  *lo = as_uint(v.y);
#else
  tf32_split(v, hi, lo);
#endif
}

#if MMA
/* d (16 x 8) += a (16 x 8) b (8 x 8), one warp's fragments: lane = 4 g + t
 * holds a at (g, t), (g + 8, t), (g, t + 4), (g + 8, t + 4); b at (t, g),
 * (t + 4, g); d at (g, 2t), (g, 2t + 1), (g + 8, 2t), (g + 8, 2t + 1) */
#if MMA_HW
inline void mma_tf32(float *d, const uint *a, const uint *b,
                     __local float *sc, const uint lane) {
  asm("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}
#else
/* the same through the warp's 192 words of local memory sc; every
 * work-item of the group calls it together (barriers) */
inline void mma_tf32(float *d, const uint *a, const uint *b,
                     __local float *sc, const uint lane) {
  const uint g = lane >> 2, t = lane & 3u;
  __local float *sa = sc, *sb = sc + 128;
  sa[g * 8 + t] = as_float(a[0]);
  sa[(g + 8) * 8 + t] = as_float(a[1]);
  sa[g * 8 + t + 4] = as_float(a[2]);
  sa[(g + 8) * 8 + t + 4] = as_float(a[3]);
  sb[t * 8 + g] = as_float(b[0]);
  sb[(t + 4) * 8 + g] = as_float(b[1]);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int q = 0; q < 4; q++) {
    uint r = g + (uint)(q >> 1) * 8, c = 2 * t + (uint)(q & 1);
    float s = 0.0f;
    for (int p = 0; p < 8; p++) s = mad(sa[r * 8 + p], sb[p * 8 + c], s);
    d[q] += s;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}
#endif
#endif

inline void gemm_tile(const int ta, const int tb, const uint m, const uint n,
                      const uint k, const uint kchunk, const float alpha,
                      const float beta, __global const float *A,
                      const uint lda, __global const float *B, const uint ldb,
                      __global float *C, const uint ldc,
                      __global float *part, __global const float *bias,
                      const uint epi, __local lelem *as, __local lelem *bs,
                      __local float *sc) {
  const uint tn = get_local_id(0), tm = get_local_id(1);
  const uint tid = tm * NDIM + tn;
  /* dimension 1 holds the row tiles of every chunk, chunk by chunk */
  const uint mtiles = (m + MWG - 1) / MWG, g1 = get_group_id(1);
  const uint i0 = g1 % mtiles * MWG, j0 = get_group_id(0) * NWG;
  const uint split = g1 / mtiles;
  const uint kbeg = split * kchunk, kend = min(k, kbeg + kchunk);
  const uint steps = (kend - kbeg + KWG - 1) / KWG;
#if MMA
  /* this work-item's warp, its place in the warp, the warp's sums */
  const uint lane = tid & 31u, warp = tid >> 5;
  const uint fg = lane >> 2, ft = lane & 3u;
  const uint wr = warp / MMA_WN * WTM, wc = warp % MMA_WN * WTN;
  __local float *wsc = sc + warp * 192u;
  float acc[MFR][NFR][4];
  for (int r = 0; r < MFR; r++)
    for (int c = 0; c < NFR; c++)
      for (int q = 0; q < 4; q++) acc[r][c][q] = 0.0f;
#else
  float acc[WPTM][WPTN];
  for (int r = 0; r < WPTM; r++)
    for (int c = 0; c < WPTN; c++) acc[r][c] = 0.0f;
#endif
  float ra[ALOADS], rb[BLOADS];
  gemm_load(ta, MWG, ALOADS, A, lda, m, i0, kbeg, kend, tid, ra);
  gemm_load(!tb, NWG, BLOADS, B, ldb, n, j0, kbeg, kend, tid, rb);
  gemm_store(ta, MWG, ALOADS, LDAL, as, tid, ra);
  gemm_store(!tb, NWG, BLOADS, LDBL, bs, tid, rb);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (uint s = 0; s < steps; s++) {
    __local const lelem *al = as + (s & 1u) * (KWG * LDAL);
    __local const lelem *bl = bs + (s & 1u) * (KWG * LDBL);
    const int more = s + 1 < steps;
    if (more) {
      uint p0 = kbeg + (s + 1) * KWG;
      gemm_load(ta, MWG, ALOADS, A, lda, m, i0, p0, kend, tid, ra);
      gemm_load(!tb, NWG, BLOADS, B, ldb, n, j0, p0, kend, tid, rb);
    }
#if MMA
    for (int kk = 0; kk < KWG; kk += 8) {
      uint ahi[MFR][4], alo[MFR][4], bhi[NFR][2], blo[NFR][2];
      for (int r = 0; r < MFR; r++) {
        __local const lelem *p = al + (kk + ft) * LDAL + wr + r * 16 + fg;
        const lelem v[4] = {p[0], p[8], p[4 * LDAL], p[4 * LDAL + 8]};
        for (int q = 0; q < 4; q++) frag_split(v[q], &ahi[r][q], &alo[r][q]);
      }
      for (int c = 0; c < NFR; c++) {
        __local const lelem *p = bl + (kk + ft) * LDBL + wc + c * 8 + fg;
        const lelem v[2] = {p[0], p[4 * LDBL]};
        for (int q = 0; q < 2; q++) frag_split(v[q], &bhi[c][q], &blo[c][q]);
      }
      /* the small terms first, then the large one */
      for (int r = 0; r < MFR; r++)
        for (int c = 0; c < NFR; c++) {
          mma_tf32(acc[r][c], alo[r], bhi[c], wsc, lane);
          mma_tf32(acc[r][c], ahi[r], blo[c], wsc, lane);
          mma_tf32(acc[r][c], ahi[r], bhi[c], wsc, lane);
        }
    }
#else
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
#endif
    if (more) {
      gemm_store(ta, MWG, ALOADS, LDAL, as + ((s + 1) & 1u) * (KWG * LDAL),
                 tid, ra);
      gemm_store(!tb, NWG, BLOADS, LDBL, bs + ((s + 1) & 1u) * (KWG * LDBL),
                 tid, rb);
    }
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#if MMA
  for (int r = 0; r < MFR; r++)
    for (int c = 0; c < NFR; c++)
      for (int q = 0; q < 4; q++)
        gemm_put(i0 + wr + r * 16 + fg + (uint)(q >> 1) * 8,
                 j0 + wc + c * 8 + 2 * ft + (uint)(q & 1), acc[r][c][q], m, n,
                 split, alpha, beta, C, ldc, part, bias, epi);
#else
  for (int r = 0; r < WPTM; r++)
    for (int c = 0; c < WPTN; c++)
      gemm_put(i0 + (tm + (uint)(r / VW) * MDIM) * VW + (uint)(r % VW),
               j0 + (tn + (uint)(c / VW) * NDIM) * VW + (uint)(c % VW),
               acc[r][c], m, n, split, alpha, beta, C, ldc, part, bias, epi);
#endif
}

/* the emulated mma.sync's words per warp (MMA 2, 4) */
#if MMA && !MMA_HW
#define SCW (WARPS * 192)
#else
#define SCW 1
#endif

/* local memory in vectors (the product loop's reads), or in pairs */
#if MMA_PS
#define LOCAL_T float2
#define LOCAL_W 1
#else
#define LOCAL_T floatv
#define LOCAL_W VW
#endif

/* One kernel per transpose pair; part is C's split sums (NULL: C itself);
 * bias and epi: the fused epilogue (epi 0: none, bias unread) */
#define GEMM_KERNEL(NAME, TA, TB)                                            \
  __kernel __attribute__((reqd_work_group_size(NDIM, MDIM, 1))) void NAME(  \
      const uint m, const uint n, const uint k, const uint kchunk,           \
      const float alpha, const float beta, __global const float *A,          \
      const uint lda, __global const float *B, const uint ldb,               \
      __global float *C, const uint ldc, __global float *part,               \
      const uint use_part, __global const float *bias, const uint epi) {     \
    __local LOCAL_T as[2 * KWG * LDAL / LOCAL_W];                            \
    __local LOCAL_T bs[2 * KWG * LDBL / LOCAL_W];                            \
    __local float sc[SCW];                                                   \
    gemm_tile(TA, TB, m, n, k, kchunk, alpha, beta, A, lda, B, ldb, C, ldc,  \
              use_part ? part : 0, bias, epi, (__local lelem *)as,           \
              (__local lelem *)bs, sc);                                      \
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
