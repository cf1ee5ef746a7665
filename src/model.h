/* A trained model: what it was trained on, its embedding and its MLP. */
#ifndef RBPE_MODEL_H
#define RBPE_MODEL_H

#include "internal.h"
#include "mlp.h"

struct rbpe_model {
  rbpe_fit_config cfg; /* progress/cancel cleared; split points at split[] */
  char split[64];
  int ndim, channels;
  size_t dims[RBPE_MAX_DIMS];
  rbpe_embedding *emb;
  rbpe_mlp_host mlp;
  /* graph/poly: sigma at every sample of the dims grid; sigma elsewhere is
   * its N-linear interpolation (NULL: uniform cfg.sigma) */
  float *sigma_map;
  /* an audio signal's samples per second (0: not audio); stored only when
   * set (header flag MODEL_FLAG_RATE), so other models' files are as
   * before */
  int sample_rate;
  /* predictions in the data's units are y * out_scale + out_offset: a
   * signal with values outside [0, 1] is fitted mapped onto [0, 1]
   * (stored with header flag MODEL_FLAG_AFFINE); 1 and 0 otherwise */
  float out_scale, out_offset;
  /* a learned sigma's range in coordinate units, as the fit resolved it
   * (header flag MODEL_FLAG_RANGE); 0 and 0 when there is none */
  float sigma_lo, sigma_hi;
};

size_t rbpe_model_samples(const rbpe_model *m);

/* The MLP shape a configuration asks for on an embedding of dim M. */
void rbpe_model_shape(const rbpe_fit_config *cfg, size_t M, int channels,
                      rbpe_mlp_shape *shape);
/* Per-coordinate sigma of the model at n coordinates (rbf only). */
void rbpe_model_sigma(const rbpe_model *m, size_t n, const float *coords,
                      float *sigma);
/* Evaluates on the backend, in row batches that fit its memory, through a
 * forward-only network; the coordinates are the caller's to check. */
rbpe_status rbpe_model_predict_be(rbpe_backend *be, const rbpe_model *m,
                                  size_t n, const float *coords, float *out);
/* The model on a regular grid of dims (rbpe_signal_coords), on be. */
rbpe_status rbpe_model_render_be(rbpe_ctx *ctx, rbpe_backend *be,
                                 const rbpe_model *m, const size_t *dims,
                                 rbpe_signal **out);

#endif
