/* rbpe: coordinate-MLPs with a learnable radial-basis positional embedding,
 * on any OpenCL device or in plain reference C.
 *
 * Conventions: every fallible function returns rbpe_status (RBPE_OK == 0)
 * and leaves a one-line message (and, where there is one, a detail such as
 * a kernel build log) in its context, read with rbpe_last_error(). The
 * library never exits, aborts or prints. Handles are opaque. */
#ifndef RBPE_H
#define RBPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define RBPE_VERSION_MAJOR 0
#define RBPE_VERSION_MINOR 1
#define RBPE_VERSION_PATCH 0

/* ---- status ------------------------------------------------------------ */

typedef enum rbpe_status {
  RBPE_OK = 0,
  RBPE_ERR_INVALID_ARGUMENT = 1, /* a parameter or option is out of range */
  RBPE_ERR_OUT_OF_MEMORY = 2,    /* host allocation failed */
  RBPE_ERR_IO = 3,               /* a file could not be opened/read/written */
  RBPE_ERR_BAD_FORMAT = 4,       /* a file is truncated, foreign or malformed */
  RBPE_ERR_TOO_LARGE = 5,        /* a size exceeds a documented limit */
  RBPE_ERR_NO_DEVICE = 6,        /* no device matches the device spec */
  RBPE_ERR_DEVICE = 7,           /* the device or its driver reported an error */
  RBPE_ERR_DEVICE_MEMORY = 8,    /* the device ran out of memory/resources */
  RBPE_ERR_BUILD = 9,            /* a kernel failed to build (see detail) */
  RBPE_ERR_NUMERIC = 10,         /* NaN or infinity where a number is needed */
  RBPE_ERR_UNSUPPORTED = 11,     /* valid, but not supported by this build */
  RBPE_ERR_INTERRUPTED = 12,     /* stopped on request */
  RBPE_ERR_INTERNAL = 13         /* a bug in rbpe */
} rbpe_status;

/* A short, static, English name for a status ("invalid argument"). */
const char *rbpe_status_string(rbpe_status status);

/* ---- context and devices ---------------------------------------------- */

/* A context owns the chosen compute backend and the last error. It is not
 * thread-safe: use one context per thread. */
typedef struct rbpe_ctx rbpe_ctx;

/* NULL only when the host is out of memory. The new context has no device
 * yet; functions that need one select the default ("auto") on first use. */
rbpe_ctx *rbpe_ctx_new(void);
void rbpe_ctx_free(rbpe_ctx *ctx);

/* The last error's message (one line, never NULL, "" after success) and
 * its detail (e.g. an OpenCL build log; "" when there is none). */
const char *rbpe_last_error(const rbpe_ctx *ctx);
const char *rbpe_last_error_detail(const rbpe_ctx *ctx);
rbpe_status rbpe_last_status(const rbpe_ctx *ctx);

/* Select the compute device. spec (NULL: $RBPE_DEVICE, else "auto"):
 *   auto      a usable OpenCL GPU or accelerator, else cpu
 *   cpu       the fast host backend (OpenBLAS SGEMM, OpenMP threads)
 *   ref       the plain-C reference backend
 *   cl        the best usable OpenCL device (discrete GPU > integrated GPU >
 *             accelerator > CPU)
 *   cl:P:D    OpenCL platform P, device D (indices as `rbpe devices` shows)
 *   cl:TEXT   the first usable device whose platform, vendor or device name
 *             contains TEXT (case-insensitive; the platform vendor too)
 * Replaces any previously selected device. */
rbpe_status rbpe_ctx_select_device(rbpe_ctx *ctx, const char *spec);

/* Human description of the selected device, e.g.
 * "opencl cl:0:0 pthread-haswell (Portable Computing Language)", and the
 * backend kind ("ref", "cpu", "opencl"). NULL before a device is selected. */
const char *rbpe_ctx_device_description(const rbpe_ctx *ctx);
const char *rbpe_ctx_backend_kind(const rbpe_ctx *ctx);

typedef enum rbpe_device_type {
  RBPE_DEVICE_CPU = 0,
  RBPE_DEVICE_GPU = 1,
  RBPE_DEVICE_INTEGRATED_GPU = 2,
  RBPE_DEVICE_ACCELERATOR = 3,
  RBPE_DEVICE_OTHER = 4
} rbpe_device_type;

const char *rbpe_device_type_string(rbpe_device_type type);

typedef struct rbpe_device_info {
  int platform_index;
  int device_index;
  /* The driver's strings, for display: one longer than its field is cut
   * and ends with "...". Every decision (the OpenCL versions below, the
   * tuning cache's key) is made on the full string. */
  char platform[128];
  char platform_vendor[128];
  char vendor[128];
  char name[128];
  char driver_version[128];
  char opencl_version[128]; /* the device's CL_DEVICE_VERSION */
  /* read from the full CL_DEVICE_VERSION and CL_DEVICE_OPENCL_C_VERSION;
   * 0 and 0 when the driver's text cannot be read */
  int opencl_major, opencl_minor;
  int opencl_c_major, opencl_c_minor;
  rbpe_device_type type;
  unsigned compute_units;
  uint64_t global_mem_bytes;
  uint64_t local_mem_bytes;
  uint64_t max_alloc_bytes;
  size_t max_work_group_size;
  int usable;           /* non-zero when rbpe can run on it */
  /* when !usable: why, and what a person can do about it */
  char why_not[320];
} rbpe_device_info;

/* Every OpenCL platform and device. *count is 0 (and the status RBPE_OK)
 * when there is no OpenCL platform; *platforms_found tells how many
 * platforms answered. Free the array with rbpe_free(). */
rbpe_status rbpe_list_devices(rbpe_ctx *ctx, rbpe_device_info **devices,
                              size_t *count, int *platforms_found);

/* Tunes the GEMM of the context's OpenCL device on the MLP's shapes
 * (batch x width by width x width, and the two backward products): times
 * up to max_candidates choices for about `seconds` each -- rbpe's own
 * kernels' valid tile configurations, CLBlast's defaults and valid CLBlast
 * parameter sets -- rejects any whose result differs from CLBlast's
 * untuned one (relative 1e-4), and, when one beats the untuned default
 * (rbpe's own kernels with their default tiles) by 5 % and is no slower
 * at 4x the batch, stores it in the tuning cache ($RBPE_CACHE_DIR, else
 * $XDG_CACHE_HOME/rbpe, else ~/.cache/rbpe; file gemm.txt), keyed by
 * device name and driver version. Every OpenCL context applies a matching
 * entry when it is opened. RBPE_ERR_UNSUPPORTED on host devices. The
 * search changes CLBlast's process-wide parameters for the device; the
 * chosen GEMM stays active in this process. */
typedef struct rbpe_tune_request {
  size_t batch;        /* rows of the products (16384) */
  int width;           /* hidden width (256) */
  int max_candidates;  /* 0: every valid set */
  double seconds;      /* timing per candidate */
  int dry_run;         /* search, but leave the cache alone */
  const char *only;    /* "own" or "clblast": search that GEMM's choices
                          alone (NULL: both) */
  /* after each choice: its GFLOP/s (-1: rejected) and its cache text */
  void (*progress)(int done, int total, double gflops, const char *choice,
                   void *user);
  void *user;
} rbpe_tune_request;
typedef struct rbpe_tune_report {
  int candidates, valid, saved;
  /* on the batch: the untuned default (own kernels), CLBlast's defaults,
   * the best choice */
  double default_gflops, clblast_gflops, best_gflops;
  size_t large_rows;                  /* 4 x batch, 0 if it did not fit */
  double default_large_gflops, clblast_large_gflops, best_large_gflops;
                                      /* there (best: 0 if the best choice
                                         was not 5 % faster) */
  char best[512];        /* the choice as cached (OWN:..., CLBLAST or
                            CLBlast's parameters); "... (the default)" when
                            nothing beat it */
  char cache_path[4200];
} rbpe_tune_report;
rbpe_status rbpe_tune(rbpe_ctx *ctx, const rbpe_tune_request *req,
                      rbpe_tune_report *report);
/* Non-zero when the context's device runs with cached tuned parameters. */
int rbpe_ctx_tuned(rbpe_ctx *ctx);
/* The GEMM the context's device runs. An OpenCL device runs rbpe's own
 * kernels (cl/gemm.cl; tiles from the tuning cache, else a default) or
 * CLBlast's; want "own" or "clblast" switches (NULL keeps it; the
 * RBPE_GEMM environment variable chooses when a device is opened), and
 * desc (len bytes, may be NULL) gets the one in use: "own MWG=64,...",
 * "CLBlast", or the host backend's kind. RBPE_ERR_UNSUPPORTED for a
 * switch on a host device. */
rbpe_status rbpe_ctx_gemm(rbpe_ctx *ctx, const char *want, char *desc,
                          size_t len);

/* Frees memory that the library returned to the caller. */
void rbpe_free(void *p);

/* Writes a file the way every rbpe output is written: `write` fills a
 * temporary file in the same folder (returning 0 on success), which is
 * then flushed to disk and renamed over path; on any failure the
 * temporary is removed and path is left as it was. */
typedef int (*rbpe_file_writer)(FILE *f, void *user);
rbpe_status rbpe_write_file(rbpe_ctx *ctx, const char *path,
                            rbpe_file_writer write, void *user);

/* Seconds from a monotonic clock (differences are timings). */
double rbpe_seconds(void);
/* Threads the host backends' loops use (OpenMP's maximum; 1 without it). */
int rbpe_threads(void);

/* ---- random numbers ----------------------------------------------------- */

/* The one seeded generator (splitmix64) used for splits, RFF matrices,
 * weight initialisation and shuffling, so every backend starts from
 * bit-identical inputs. */
typedef struct rbpe_rng {
  uint64_t state;
} rbpe_rng;

void rbpe_rng_seed(rbpe_rng *rng, uint64_t seed);
uint64_t rbpe_rng_u64(rbpe_rng *rng);
/* Uniform in [0, 1), 24 random bits. */
float rbpe_rng_uniform(rbpe_rng *rng);
/* Uniform integer in [0, bound), bound > 0, without modulo bias. */
uint64_t rbpe_rng_below(rbpe_rng *rng, uint64_t bound);
/* Standard normal (Box-Muller, computed in double). */
float rbpe_rng_normal(rbpe_rng *rng);

/* ---- signals -------------------------------------------------------------- */

/* A signal sampled on a regular grid (METHOD.md section 1): ndim axes (1, 2
 * or 3), axis 0 slowest (an image is dims[0] = height rows of dims[1] =
 * width), channels values per sample, row-major, float, normally in [0,1]. */
typedef struct rbpe_signal rbpe_signal;
typedef struct rbpe_model rbpe_model;

#define RBPE_MAX_DIMS 3
/* Largest signal accepted, in samples: refused before allocating. */
#define RBPE_MAX_SAMPLES ((size_t)1 << 26)
/* Channels of a signal (gray, RGB, audio tracks, text columns). */
#define RBPE_MAX_CHANNELS 4
/* Side of a grid a model renders (or an image is read) on, per axis. */
#define RBPE_MAX_SIDE 65536
/* The MLP: hidden layers and their width. */
#define RBPE_MAX_HIDDEN 16
#define RBPE_MAX_WIDTH 8192

/* PNG through libpng: gray, gray+alpha, RGB, RGBA, palette; 1..16 bits.
 * Values are scaled to [0,1] (v / (2^bits - 1)). Alpha (including a
 * palette's or a tRNS chunk's transparency) is dropped: rbpe fits colour,
 * not coverage, so gray+alpha gives 1 channel and RGBA 3. */
rbpe_status rbpe_signal_load_png(rbpe_ctx *ctx, const char *path,
                                 rbpe_signal **out);
/* A 1-D signal from text: one value per line; blank lines and text after
 * '#' are ignored; anything else that is not a finite number is an error
 * naming the line. Values are kept as written. */
rbpe_status rbpe_signal_load_text(rbpe_ctx *ctx, const char *path,
                                  rbpe_signal **out);
/* By content: PNG signature, else text. Every loader here reads PATH once,
 * as a stream, so pipes, FIFOs and process substitution work; "-" is
 * standard input. */
rbpe_status rbpe_signal_load(rbpe_ctx *ctx, const char *path,
                             rbpe_signal **out);
/* A signal or, when model is not NULL, a model file, told apart by
 * content and read once: exactly one of *signal and *model is set.
 * Formats: PNG; JPEG (gray or RGB, libjpeg-turbo); audio through
 * libsndfile (WAV, AIFF, FLAC, Ogg/Vorbis, AU, CAF: a 1-D signal of the
 * samples in [-1, 1], one channel per track, with its sample rate); text
 * (one sample per line, CSV or white-space columns as channels, an optional
 * header line of column names); rbpe model files. A known format rbpe does
 * not read (GIF, TIFF, WebP, MP3, ...) is refused by name. */
rbpe_status rbpe_load(rbpe_ctx *ctx, const char *path, rbpe_signal **signal,
                      rbpe_model **model);
typedef struct rbpe_load_options {
  int channel; /* -1: every channel (the default); k: only channel k (0-based)
                  of an image, audio file or text table */
} rbpe_load_options;
rbpe_status rbpe_load_ex(rbpe_ctx *ctx, const char *path,
                         const rbpe_load_options *opt, rbpe_signal **signal,
                         rbpe_model **model);
/* Audio inputs: samples per second (0 for other signals); a model fitted
 * to audio keeps it (rbpe_model_sample_rate). */
int rbpe_signal_sample_rate(const rbpe_signal *s);
/* A 1-D signal as a 32-bit float WAV file (any value range), written to a
 * temporary name and renamed. */
rbpe_status rbpe_signal_save_wav(rbpe_ctx *ctx, const rbpe_signal *sig,
                                 const char *path, int sample_rate);
/* A copy of caller data (count = product of dims times channels). */
rbpe_status rbpe_signal_from_data(rbpe_ctx *ctx, int ndim, const size_t *dims,
                                  int channels, const float *data,
                                  rbpe_signal **out);
void rbpe_signal_free(rbpe_signal *sig);

int rbpe_signal_ndim(const rbpe_signal *sig);
size_t rbpe_signal_dim(const rbpe_signal *sig, int axis);
int rbpe_signal_channels(const rbpe_signal *sig);
size_t rbpe_signal_samples(const rbpe_signal *sig);
/* Bit depth of the file it came from (8 or 16 for PNG, 0 otherwise). */
int rbpe_signal_source_bits(const rbpe_signal *sig);
const float *rbpe_signal_data(const rbpe_signal *sig);
float *rbpe_signal_data_mut(rbpe_signal *sig);

/* Coordinates of samples (METHOD.md 1: x = (k + 0.5) / n per axis), n x ndim. */
rbpe_status rbpe_signal_coords(rbpe_ctx *ctx, const rbpe_signal *sig,
                               const size_t *indices, size_t n, float *out);

/* Writes a 2-D signal with 1 (gray) or 3 (RGB) channels as PNG with 8 or
 * 16 bits per value, clamping to [0,1]. The file is written under a
 * temporary name in the same folder and renamed, so an interrupted write
 * never leaves a truncated file under the final name. */
rbpe_status rbpe_signal_save_png(rbpe_ctx *ctx, const rbpe_signal *sig,
                                 const char *path, int bit_depth);

/* ---- splits --------------------------------------------------------------- */

/* Training and held-out sample indices (METHOD.md section 1). spec:
 *   regular:S  every S-th sample along each axis from 0; held-out = the rest
 *   random:P   a seeded random fraction 0 < P < 1 of the samples
 *   tancik     regular:2 with held-out restricted to samples odd on every axis
 *   all        every sample trains and is evaluated: a fit of the signal
 *              itself (SIREN-style), whose "held-out" PSNR is the fitting
 *              PSNR
 *   BASE+val:P BASE's training samples less a seeded fraction P of them,
 *              which are the held-out (validation) samples; BASE's test
 *              samples are never used: for choosing settings (a sigma, a
 *              scale) without looking at the test samples */
typedef struct rbpe_split rbpe_split;

rbpe_status rbpe_split_create(rbpe_ctx *ctx, const rbpe_signal *sig,
                              const char *spec, uint64_t seed,
                              rbpe_split **out);
void rbpe_split_free(rbpe_split *split);
size_t rbpe_split_train_count(const rbpe_split *split);
size_t rbpe_split_test_count(const rbpe_split *split);
/* Ascending sample indices into the signal. */
const size_t *rbpe_split_train(const rbpe_split *split);
const size_t *rbpe_split_test(const rbpe_split *split);

/* ---- positional embeddings (METHOD.md section 2) ---------------------------- */

typedef enum rbpe_embed_kind {
  RBPE_EMBED_NERF = 0,
  RBPE_EMBED_RFF = 1,
  RBPE_EMBED_RBF = 2
} rbpe_embed_kind;

#define RBPE_MAX_NERF_FREQS 20
/* rbf directions of a 2-D embedding at most (rbf_angles). */
#define RBPE_MAX_ANGLES 64
/* RFF features and rbf centres per direction. */
#define RBPE_MAX_FEATURES 65536

typedef struct rbpe_embed_config {
  rbpe_embed_kind kind;
  int nerf_freqs;     /* L: frequencies 2^0 .. 2^(L-1) per axis */
  int rff_features;   /* F: rows of B */
  float rff_scale;    /* s: B ~ N(0, s^2) */
  int rbf_centres;    /* D: centres t_j = (j + 0.5) / D per direction */
  int rbf_diagonals;  /* 0: directions are the axes; 1: also the diagonals */
  /* 2-D coordinates only: A >= 2 directions at the angles k 180/A degrees
   * (k = 0..A-1, the axes among them when A is even), in place of the axes
   * and diagonals; 0: the axes (and diagonals). 1-D and 3-D coordinates
   * keep the axes (and diagonals) whatever this says. */
  int rbf_angles;
  float rbf_order;    /* b >= 1: exp(-q^b), 1 is a Gaussian */
  uint64_t seed;      /* for the RFF matrix */
  /* amplitude normalisation of a per-coordinate sigma: 0 off; > 0 every
   * coordinate's rbf block is scaled by sqrt(rbf_norm_ref / sigma(x)), so
   * the inner product of two embeddings is the non-stationary Gibbs kernel
   * rather than one whose amplitude grows with sigma (a uniform sigma equal
   * to rbf_norm_ref is unchanged); < 0 in a fit configuration: the
   * geometric mean of the training samples' sigma, resolved by rbpe_fit
   * and stored in the model */
  float rbf_norm_ref;
} rbpe_embed_config;

/* The defaults: L = 10; F = 256, s = 10; D = 128, axes only (no angles),
 * b = 1; seed 0. */
void rbpe_embed_config_default(rbpe_embed_config *cfg, rbpe_embed_kind kind);
const char *rbpe_embed_kind_string(rbpe_embed_kind kind);
/* "nerf" / "rff" / "rbf"; RBPE_ERR_INVALID_ARGUMENT otherwise. */
rbpe_status rbpe_embed_kind_parse(rbpe_ctx *ctx, const char *text,
                                  rbpe_embed_kind *kind);

/* A built embedding for ndim-dimensional coordinates: it holds the RFF
 * matrix or the RBF directions, generated on the host. */
typedef struct rbpe_embedding rbpe_embedding;

rbpe_status rbpe_embedding_create(rbpe_ctx *ctx, const rbpe_embed_config *cfg,
                                  int ndim, rbpe_embedding **out);
void rbpe_embedding_free(rbpe_embedding *emb);
/* M, the embedded dimension. */
size_t rbpe_embedding_dim(const rbpe_embedding *emb);
int rbpe_embedding_directions(const rbpe_embedding *emb);
/* The RBF directions: ndir rows of (alpha_0..alpha_{ndim-1}, offset); the
 * projection of x on direction a is offset_a + x . alpha_a, in [0,1]. */
const float *rbpe_embedding_rbf_directions(const rbpe_embedding *emb);
/* The RFF matrix B, F x ndim row-major (NULL for other kinds). */
const float *rbpe_embedding_rff_matrix(const rbpe_embedding *emb);

/* Embeds n coordinates (n x ndim, row-major) into out (n x M) on the
 * context's device. sigma (n values > 0) is required for rbf and ignored
 * otherwise. */
rbpe_status rbpe_embedding_forward(rbpe_ctx *ctx, const rbpe_embedding *emb,
                                   size_t n, const float *coords,
                                   const float *sigma, float *out);
/* rbf only: d Phi(x_i; sigma_i) / d sigma_i, n x M. */
rbpe_status rbpe_embedding_dsigma(rbpe_ctx *ctx, const rbpe_embedding *emb,
                                  size_t n, const float *coords,
                                  const float *sigma, float *out);

/* ---- memory limits ----------------------------------------------------- */

/* Caps what the context's device may hold at once (0: no cap beyond the
 * device's own). A request past the cap fails with RBPE_ERR_DEVICE_MEMORY
 * and a message naming the size and the limit, before allocating. Applies
 * to the selected device and to devices selected later. */
void rbpe_ctx_set_memory_limit(rbpe_ctx *ctx, uint64_t bytes);

/* ---- coordinate-MLPs (METHOD.md section 6) -------------------------------- */

typedef enum rbpe_act {
  RBPE_ACT_NONE = 0,
  RBPE_ACT_RELU = 1,
  RBPE_ACT_SIGMOID = 2,
  /* configuration only (the default output activation): sigmoid when every
   * value of the signal lies in [0, 1], none otherwise; rbpe_fit resolves
   * it, and the report and the model hold the choice */
  RBPE_ACT_AUTO = 3
} rbpe_act;

const char *rbpe_act_string(rbpe_act act);

/* How sigma is chosen for the rbf embedding (METHOD.md 2-5). */
typedef enum rbpe_sigma_mode {
  RBPE_SIGMA_UNIFORM = 0, /* one sigma everywhere */
  RBPE_SIGMA_GRAPH = 1,   /* the sparse k-NN graph solve over all training points */
  RBPE_SIGMA_POLY = 2     /* the seed's polynomial of the gradient norm */
} rbpe_sigma_mode;

/* How sigma reaches coordinates that were not trained on (METHOD.md 5). */
typedef enum rbpe_sigma_at {
  RBPE_SIGMA_AT_NEAREST = 0, /* the nearest training coordinate's sigma */
  RBPE_SIGMA_AT_SMOOTH = 1,  /* Gaussian-weighted mean of training sigmas */
  RBPE_SIGMA_AT_POLY = 2     /* the polynomial of the gradient norm */
} rbpe_sigma_at;

/* "uniform" / "graph" / "poly" and "nearest" / "smooth" / "poly": the
 * names the command line and metrics.json use. */
const char *rbpe_sigma_mode_string(rbpe_sigma_mode mode);
const char *rbpe_sigma_at_string(rbpe_sigma_at at);

/* The enumerations' names, one table in the library for every front end:
 * rbpe_enum_names gives the names in value order (from 0) and their
 * number; rbpe_enum_string one name ("?" out of range); rbpe_enum_parse
 * the value named text, or RBPE_ERR_INVALID_ARGUMENT with the names. */
typedef enum rbpe_enum {
  RBPE_ENUM_EMBED = 0,      /* rbpe_embed_kind */
  RBPE_ENUM_SIGMA_MODE = 1, /* rbpe_sigma_mode */
  RBPE_ENUM_SIGMA_AT = 2,   /* rbpe_sigma_at */
  RBPE_ENUM_ACT = 3,        /* rbpe_act */
  RBPE_ENUM_RANGE = 4       /* rbpe_range_unit */
} rbpe_enum;
int rbpe_enum_names(rbpe_enum which, const char *const **names);
const char *rbpe_enum_string(rbpe_enum which, int value);
rbpe_status rbpe_enum_parse(rbpe_ctx *ctx, rbpe_enum which, const char *text,
                            int *value);

/* The unit of the learned sigma's range [smin, smax]. LOCAL: a training
 * sample's range is the relative one times its local spacing (the root
 * mean square distance to its 2N nearest other training samples) over
 * the geometric mean of those, held within [1/4, 4]: on a regular grid
 * the relative range, on a random split wider in its gaps and narrower
 * in its clusters (README "Learning sigma"). Graph sigma only: with the
 * polynomial (as the mode or the carry) a fit takes it as RBPE_RANGE_REL,
 * and its model's configuration says so. */
typedef enum rbpe_range_unit {
  RBPE_RANGE_ABS = 0,
  RBPE_RANGE_REL = 1,
  RBPE_RANGE_LOCAL = 2
} rbpe_range_unit;

/* Parameters of the sigma solve (METHOD.md 3-5); defaults in one place:
 * rbpe_fit_config_default. */
typedef struct rbpe_sigma_config {
  int k;               /* neighbours per node (8) */
  float eps;           /* theta = exp(-d^2 / (2 eps^2)) (0.5) */
  float gamma;         /* weight of -||A|| (0.01) */
  float lambda_n;      /* degree normalisation exponent, 0 = off (0) */
  float smin, smax;    /* sigma = smin + (smax - smin) logistic(s) */
  int iterations;      /* Adam iteration cap (200) */
  float lr;            /* Adam learning rate on s (0.1) */
  float tol;           /* stop when J's change between checks is below
                          tol times its total change so far (1e-3) */
  int check_every;     /* iterations between J checks (10) */
  int poly_degree;     /* P (2) */
  int poly_subset;     /* points per dense subset (20) */
  int poly_subsets;    /* number of subsets (64) */
  int poly_from_sparse;/* fit beta on the sparse solve instead (0) */
  float smooth_width;  /* smooth: Gaussian width in training spacings (2.5) */
  int relative;        /* the unit of smin, smax (rbpe_range_unit):
                          coordinate units, the training spacing L^(-1/N),
                          or that times each training sample's local
                          spacing (rbpe_range_unit; RBPE_RANGE_REL) */
} rbpe_sigma_config;

/* The held-back sigma field (beyond METHOD.md; README "Learning sigma"):
 * sigma(x) = sigma0(x) exp(g(x)), sigma0 the map of the sigma mode, g
 * N-linear on a coarse grid of cells^N nodes, updated by Adam on the loss
 * of a held-back part of the training samples while the MLP trains on the
 * rest; the held-back samples join training once g is frozen. */
typedef struct rbpe_field_config {
  int cells;           /* nodes per axis, 0 = off (0), else 2..64 */
  float holdout;       /* fraction of training samples held back (0.1) */
  float lr;            /* Adam learning rate on g (0.05) */
  int every;           /* MLP steps between updates of g (10) */
  float from, until;   /* updates from..until these fractions of the
                          steps (0.2, 0.8); held-back samples train after */
  float range;         /* |g| <= range (2: sigma0 times 0.14 .. 7.4) */
  int zero_mean;       /* keep the nodes' mean at 0: the field moves sigma
                          between regions, sigma0 keeps the level (0) */
} rbpe_field_config;

typedef struct rbpe_progress {
  int step, steps;
  float loss;          /* MSE of the step's batch, before its update */
  float train_psnr;    /* 10 log10(peak^2 / loss), the report's psnr_peak */
  double elapsed_s;
  double samples_per_s;
} rbpe_progress;

typedef void (*rbpe_progress_fn)(const rbpe_progress *p, void *user);

typedef struct rbpe_fit_config {
  rbpe_embed_config embed;
  rbpe_sigma_mode sigma_mode;
  float sigma;          /* uniform:S */
  rbpe_sigma_at sigma_at;
  rbpe_sigma_config sig;
  rbpe_field_config field;
  const char *split;    /* see rbpe_split_create; default "regular:2" */
  int hidden_layers;    /* H >= 0 */
  int width;            /* W >= 1 */
  rbpe_act out_act;
  int steps;
  float lr;
  size_t batch;         /* 0: full batch */
  uint64_t seed;        /* split, RFF matrix, weights, shuffling */
  int log_every;        /* read the loss every N steps (progress, curve) */
  /* Held-out samples (an evenly strided subset of the test samples, at
   * most this many and at most the batch) evaluated at each curve point,
   * for the held-out loss curve; never used for any choice. 0: none. */
  size_t curve_heldout;
  rbpe_progress_fn progress;
  void *progress_user;
  /* Polled once per step: non-zero stops training after the current step;
   * the fit then completes (evaluation, outputs) and reports interrupted. */
  const volatile int *cancel;
} rbpe_fit_config;

/* Defaults: rbf (D = 128 per axis, b = 1) with the learned sigma (graph,
 * range 0.5..2 training spacings) and the amplitude normalisation
 * (rbf_norm_ref -1: the fit's geometric mean sigma), regular:2,
 * 3 hidden layers of 256, output activation auto (sigmoid for data in
 * [0, 1], none otherwise), 1000 steps, lr 1e-3, full batch, seed 0, loss
 * read every 25 steps with a held-out curve over up to 4096 samples; sigma
 * solve parameters as documented in rbpe_sigma_config, held-out sigma by
 * smooth. */
void rbpe_fit_config_default(rbpe_fit_config *cfg);

/* Checks a configuration once, where every later stage of rbpe_fit relies
 * on it: network, training, embedding, sigma and field settings and, with
 * sig (NULL: the settings alone), the split on that signal (its syntax and
 * that it leaves training and held-out samples), the sigma solve's k and
 * the field's hold-back against the training count. rbpe_fit calls it first; a front end may call it to
 * refuse a setting before loading a device. */
rbpe_status rbpe_fit_config_check(rbpe_ctx *ctx, const rbpe_fit_config *cfg,
                                  const rbpe_signal *sig);

/* A trained model: embedding, sigma model and MLP weights, independent of
 * the device it was trained on. */

typedef struct rbpe_fit_report {
  int steps_done;
  int interrupted;
  size_t n_train, n_test;
  size_t embed_dim;
  double train_psnr, test_psnr; /* on the full model, all channels */
  double final_loss;            /* training-set MSE after the last step */
  /* PSNR's peak: 1 when every value of the signal lies in [0, 1] (images:
   * the usual convention), else the data's peak-to-peak range; such a
   * signal is fitted mapped onto [0, 1] (the loss curve is in those
   * units) and the model maps its predictions back */
  double psnr_peak;
  float data_min_f, data_max_f; /* the signal's values, all channels */
  rbpe_act out_act;             /* the output activation used (resolved) */
  float rbf_norm_ref;           /* rbf amplitude normalisation used, 0 off */
  double time_embed_s, time_train_s, time_eval_s;
  double train_samples_per_s;
  int curve_len;                /* loss curve: (step, batch loss) pairs */
  int *curve_step;
  float *curve_loss;
  /* the held-out loss at the same steps (same units; NULL when the split
   * holds nothing out or cfg->curve_heldout is 0) over curve_heldout_n
   * test samples */
  float *curve_heldout;
  size_t curve_heldout_n;
  rbpe_signal *reconstruction;  /* the model on the input's grid */
  rbpe_split *split;            /* the split that was used */
  /* sigma (rbf): the map on the input's grid and its statistics */
  rbpe_signal *sigma_map;       /* NULL for other embeddings */
  double sigma_min, sigma_max, sigma_mean;          /* over the grid */
  double sigma_train_min, sigma_train_max, sigma_train_mean;
  int sigma_iterations;         /* of the (sparse or subset) solve */
  double sigma_J0, sigma_J;     /* objective before and after */
  double time_sigma_s;
  double poly_beta[8];          /* poly: beta_0..beta_P */
  int poly_degree;
  /* 1 when the embedded training set did not fit the device and each
   * mini-batch was embedded on the fly (same result, more work per step) */
  int embed_on_the_fly;
  /* centres per direction the first layer's window keeps (its banded
   * form, README "The first layer's window"), 0 when it ran dense */
  int first_layer_band;
  double sigma_lo, sigma_hi;    /* the sigma range used, coordinate units
                                   (learned sigma; 0 otherwise; a local
                                   range's extremes) */
  double sigma_spacing;         /* the relative range's unit, coordinate
                                   units (learned sigma; 0 otherwise) */
  /* the held-back sigma field (cfg->field.cells > 0) */
  size_t field_heldback;        /* samples held back while g learned */
  int field_updates;
  double field_mse_first, field_mse_last; /* held-back MSE at the first
                                             and the last update */
  double field_factor_min, field_factor_max; /* exp(g) over the grid */
} rbpe_fit_report;

/* Fits a coordinate-MLP to sig on the context's device. On success the
 * caller owns *model and must call rbpe_fit_report_clear(report). */
rbpe_status rbpe_fit(rbpe_ctx *ctx, const rbpe_signal *sig,
                     const rbpe_fit_config *cfg, rbpe_model **model,
                     rbpe_fit_report *report);
void rbpe_fit_report_clear(rbpe_fit_report *report);

/* How rbpe_fit treats data whose values lie in [lo, hi] (all channels):
 * the output activation it uses (requested, or for RBPE_ACT_AUTO sigmoid
 * when [lo, hi] lies in [0, 1], none otherwise), and the values it fits,
 * (v - *offset) / *scale: the data as they are (1 and 0) when in [0, 1],
 * else mapped onto the activation's range, [-1, 1] for none and [0, 1]
 * for sigmoid and relu. */
rbpe_act rbpe_fit_value_map(rbpe_act requested, float lo, float hi,
                            double *scale, double *offset);

void rbpe_model_free(rbpe_model *model);
int rbpe_model_ndim(const rbpe_model *model);
int rbpe_model_channels(const rbpe_model *model);
/* The grid the model was trained on (axis sizes). */
size_t rbpe_model_dim(const rbpe_model *model, int axis);
const rbpe_fit_config *rbpe_model_config(const rbpe_model *model);
/* A learned sigma's range in coordinate units, as the fit resolved it:
 * 1 with *lo and *hi set, 0 when the model has none (uniform sigma, other
 * embeddings, or a file written before the range was stored). */
int rbpe_model_sigma_range(const rbpe_model *model, double *lo, double *hi);
/* The sample rate of the audio the model was fitted to (0: not audio). */
int rbpe_model_sample_rate(const rbpe_model *model);
/* The rbf embedding's directions (its blocks of rbf_centres values), as
 * the embedding built them; 0 for other embeddings. */
int rbpe_model_rbf_directions(const rbpe_model *model);

/* Evaluates the model at n coordinates (n x ndim) into out (n x channels),
 * in batches that fit the device. */
rbpe_status rbpe_model_predict(rbpe_ctx *ctx, const rbpe_model *model,
                               size_t n, const float *coords, float *out);
/* Renders the model on a regular grid of the given axis sizes (any
 * resolution: sample k of n sits at (k + 0.5) / n). */
rbpe_status rbpe_model_render(rbpe_ctx *ctx, const rbpe_model *model,
                              const size_t *dims, rbpe_signal **out);

/* Model files: little-endian, versioned, CRC-32 checked; written through a
 * temporary name. A damaged, truncated or foreign file is refused with
 * RBPE_ERR_BAD_FORMAT and never read past its end. */
rbpe_status rbpe_model_save(rbpe_ctx *ctx, const rbpe_model *model,
                            const char *path);
rbpe_status rbpe_model_load(rbpe_ctx *ctx, const char *path,
                            rbpe_model **out);

/* PSNR = -10 log10(MSE) over the given samples and all channels of two
 * signals of the same shape (METHOD.md 1); +inf when they are equal. */
/* The smallest and largest value of a signal over all channels. */
void rbpe_signal_range(const rbpe_signal *s, float *lo, float *hi);
/* PSNR with a given peak: 10 log10(peak^2 / MSE). */
double rbpe_psnr_peak(const rbpe_signal *a, const rbpe_signal *b,
                      const size_t *idx, size_t n, double peak);
double rbpe_psnr(const rbpe_signal *a, const rbpe_signal *b,
                 const size_t *indices, size_t n);

/* ---- checking and benchmarking ---------------------------------------------- */

typedef struct rbpe_check_row {
  const char *op;
  char shape[96];
  size_t count;      /* values compared */
  double max_abs;    /* worst |device - ref| */
  double max_rel;    /* worst relative error where |ref| > 1e-6 */
  double atol, rtol; /* pass: |d - r| <= atol max(1, max|r|) + rtol |r| */
  int pass;          /* within tolerance and the buffer canary intact */
} rbpe_check_row;

typedef void (*rbpe_check_fn)(const rbpe_check_row *row, void *user);

/* Runs every op (only: just the op of that name) on seeded random inputs
 * on the context's device and on ref, calling fn per case; *failures
 * counts the cases out of tolerance. small keeps only small shapes. On an
 * OpenCL device the GEMM cases run again (op "gemm indirect") through
 * CLBlast's indirect route, the one training-size products take; that
 * route then stays forced for the device until the process ends (same
 * results, small products slower). */
rbpe_status rbpe_check_ops(rbpe_ctx *ctx, int small, const char *only,
                           rbpe_check_fn fn, void *user, int *failures);

typedef struct rbpe_bench_result {
  size_t batch;
  size_t embed_dim;
  int hidden_layers, width;
  int steps_timed;
  double step_s;              /* one training step (forward, backward, Adam) */
  double train_samples_per_s;
  double train_gflops;        /* GEMM FLOPs of a step / step time */
  double infer_samples_per_s; /* embedding + forward */
  double gemm_share;          /* of a step's time, from a synchronised run */
  int first_layer_band;       /* centres per direction of the banded first
                                 layer, 0 when it ran dense */
} rbpe_bench_result;

/* rbpe_bench_mlp's first layer: as a fit would run it (banded where the
 * device runs the band faster), dense, or banded. */
enum { RBPE_BENCH_FIRST_AUTO = -1, RBPE_BENCH_FIRST_DENSE = 0,
       RBPE_BENCH_FIRST_BAND = 1 };

/* Times training steps and inference of an MLP (hidden_layers x width, one
 * output channel) on an rbf embedding with `centres` per axis of 2-D
 * coordinates, at the given batch size, for at least min_seconds. The
 * coordinates are random, their sigma the top of a default fit's learned
 * range on a 256 x 256 image sampled at 25 % (2 / 128: the widest window a
 * row of that fit has); first_layer is an RBPE_BENCH_FIRST_ value. */
rbpe_status rbpe_bench_mlp(rbpe_ctx *ctx, int hidden_layers, int width,
                           int centres, size_t batch, double min_seconds,
                           int first_layer, rbpe_bench_result *out);

typedef struct rbpe_bench_sigma_result {
  size_t nodes, edges;       /* L and directed CSR entries */
  int iterations;
  double graph_s;            /* k-NN graph on the host */
  double solve_s;            /* the device solve */
  double per_iteration_s;
  uint64_t device_peak_bytes;/* most bytes held on the device at once */
  uint64_t host_graph_bytes; /* the CSR graph on the host */
} rbpe_bench_sigma_result;

/* Times the sparse sigma solve on a side x side grid of 2-D training
 * points (L = side^2) with a synthetic image's values, rbf with `centres`
 * per axis, k neighbours and exactly `iterations` Adam iterations. */
rbpe_status rbpe_bench_sigma(rbpe_ctx *ctx, size_t side, int centres, int k,
                             int iterations, rbpe_bench_sigma_result *out);

#ifdef __cplusplus
}
#endif

#endif /* RBPE_H */
