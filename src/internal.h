/* Library-private state shared by the pipeline pieces. */
#ifndef RBPE_INTERNAL_H
#define RBPE_INTERNAL_H

#include <stdio.h>

#include "backend/backend.h"
#include "base/clock.h"
#include "base/error.h"
#include "base/fileio.h"
#include "rbpe.h"

struct rbpe_ctx {
  rbpe_err err;
  rbpe_backend *be; /* NULL until a device is selected */
  uint64_t mem_limit;
};

/* The context's backend, selecting the default device on first use. */
rbpe_status rbpe_ctx_backend(rbpe_ctx *ctx, rbpe_backend **out);

struct rbpe_signal {
  int ndim;
  size_t dims[RBPE_MAX_DIMS];
  int channels;
  int source_bits;
  int sample_rate; /* audio inputs: samples per second; else 0 */
  size_t samples;
  float *data; /* samples x channels */
};

/* The training and held-out counts split SPEC gives on sig, and its
 * refusals (a bad spec, an empty part), without building it. */
rbpe_status rbpe_split_counts(rbpe_err *err, const rbpe_signal *sig,
                              const char *spec, size_t *ntrain, size_t *ntest);

/* The end of a function that built a signal: on success *out = s, else
 * s is freed; returns st. */
rbpe_status rbpe_signal_hand_over(rbpe_status st, rbpe_signal *s,
                                  rbpe_signal **out);

/* Allocates a zeroed signal after checking the size limits. */
rbpe_status rbpe_signal_alloc(rbpe_err *err, int ndim, const size_t *dims,
                              int channels, rbpe_signal **out);

/* Embedding internals shared with the fit pipeline (embed.c). */
rbpe_status rbpe_embed_config_check(rbpe_err *err, const rbpe_embed_config *cfg);
/* The RBF directions (rows of alpha_0..alpha_{ndim-1}, offset) into d when
 * d is not NULL; returns their number. */
int rbpe_rbf_directions(int ndim, int diagonals, int angles, float *d);
rbpe_status rbpe_embedding_set_rff(rbpe_embedding *e, const float *B);
int rbpe_embedding_ndim(const rbpe_embedding *e);
/* The rbf amplitude normalisation's reference, once a fit has chosen it. */
void rbpe_embedding_set_norm_ref(rbpe_embedding *e, float ref);
const rbpe_embed_config *rbpe_embedding_config(const rbpe_embedding *e);
/* Embeds n coordinates already on the backend; sigma only for rbf. */
rbpe_status rbpe_embedding_run(rbpe_backend *be, const rbpe_embedding *e,
                               size_t n, const rbpe_buf *x,
                               const rbpe_buf *sigma, rbpe_buf *out,
                               int deriv);
/* The same with band > 0: banded rows of that many centres (rbpe_band;
 * rbf values only). */
rbpe_status rbpe_embedding_run_band(rbpe_backend *be, const rbpe_embedding *e,
                                    size_t n, const rbpe_buf *x,
                                    const rbpe_buf *sigma, rbpe_buf *out,
                                    int deriv, int band);
/* The band the rows of an rbf embedding get on be for sigma up to
 * sigma_max (README, "The first layer's window"): want 0, none; 1, one
 * whenever the window leaves a centre out; -1, as fits choose: where
 * be->band_pays and the window keeps at most half the centres. Returns
 * the band's width, or 0 with band zeroed (dense rows; embeddings other
 * than rbf). */
int rbpe_embedding_band(const rbpe_backend *be, const rbpe_embedding *e,
                        float sigma_max, int want, rbpe_band *band);


#endif
