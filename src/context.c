/* The context: the selected backend and the last error, plus the public
 * entry points that only forward to them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "internal.h"

double rbpe_seconds(void) { return rbpe_now_s(); }

int rbpe_threads(void) {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

rbpe_ctx *rbpe_ctx_new(void) { return calloc(1, sizeof(rbpe_ctx)); }

void rbpe_ctx_free(rbpe_ctx *ctx) {
  if (!ctx) return;
  rbpe_backend_close(ctx->be);
  rbpe_err_clear(&ctx->err);
  free(ctx);
}

const char *rbpe_last_error(const rbpe_ctx *ctx) {
  return ctx ? ctx->err.msg : "no context";
}

const char *rbpe_last_error_detail(const rbpe_ctx *ctx) {
  return ctx && ctx->err.detail ? ctx->err.detail : "";
}

rbpe_status rbpe_last_status(const rbpe_ctx *ctx) {
  return ctx ? ctx->err.status : RBPE_ERR_INVALID_ARGUMENT;
}

rbpe_status rbpe_ctx_select_device(rbpe_ctx *ctx, const char *spec) {
  if (!ctx) return RBPE_ERR_INVALID_ARGUMENT;
  rbpe_err_clear(&ctx->err);
  if (!spec) spec = getenv("RBPE_DEVICE");
  if (!spec || !*spec) spec = "auto";
  rbpe_backend *be;
  RBPE_TRY(rbpe_backend_open(spec, &ctx->err, &be));
  rbpe_backend_close(ctx->be);
  ctx->be = be;
  be->mem_limit = ctx->mem_limit;
  return RBPE_OK;
}

rbpe_status rbpe_ctx_backend(rbpe_ctx *ctx, rbpe_backend **out) {
  if (!ctx->be) RBPE_TRY(rbpe_ctx_select_device(ctx, NULL));
  *out = ctx->be;
  return RBPE_OK;
}

const char *rbpe_ctx_device_description(const rbpe_ctx *ctx) {
  return ctx && ctx->be ? ctx->be->description : NULL;
}

const char *rbpe_ctx_backend_kind(const rbpe_ctx *ctx) {
  return ctx && ctx->be ? ctx->be->kind : NULL;
}

rbpe_status rbpe_list_devices(rbpe_ctx *ctx, rbpe_device_info **devices,
                              size_t *count, int *platforms_found) {
  if (!ctx || !devices || !count) return RBPE_ERR_INVALID_ARGUMENT;
  rbpe_err_clear(&ctx->err);
  return rbpe_backend_list_devices(&ctx->err, devices, count, platforms_found);
}

void rbpe_free(void *p) { free(p); }

void rbpe_ctx_set_memory_limit(rbpe_ctx *ctx, uint64_t bytes) {
  if (!ctx) return;
  ctx->mem_limit = bytes;
  if (ctx->be) ctx->be->mem_limit = bytes;
}

rbpe_status rbpe_tune(rbpe_ctx *ctx, const rbpe_tune_request *req,
                      rbpe_tune_report *report) {
  if (!ctx || !req || !report) return RBPE_ERR_INVALID_ARGUMENT;
  rbpe_err_clear(&ctx->err);
  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));
  RBPE_FAIL_IF(!rbpe_backend_supports(be, RBPE_HOOK_TUNE_GEMM), &ctx->err,
               RBPE_ERR_UNSUPPORTED,
               "%s has no GEMM to tune (tuning is for OpenCL devices)",
               be->description);
  RBPE_FAIL_IF(req->batch < 1 || req->batch > (1u << 24) || req->width < 1 ||
                   req->width > RBPE_MAX_WIDTH || !(req->seconds > 0) ||
                   req->seconds > 60,
               &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
               "tune: batch 1..2^24, width 1..%d, seconds in (0, 60]",
               RBPE_MAX_WIDTH);
  return be->ops->tune_gemm(be, req, report);
}

int rbpe_ctx_tuned(rbpe_ctx *ctx) { return ctx && ctx->be && ctx->be->tuned; }

rbpe_status rbpe_ctx_gemm(rbpe_ctx *ctx, const char *want, char *desc,
                          size_t len) {
  if (!ctx) return RBPE_ERR_INVALID_ARGUMENT;
  rbpe_err_clear(&ctx->err);
  rbpe_backend *be;
  RBPE_TRY(rbpe_ctx_backend(ctx, &be));
  if (!rbpe_backend_supports(be, RBPE_HOOK_GEMM_PATH)) {
    RBPE_FAIL_IF(want != NULL, &ctx->err, RBPE_ERR_UNSUPPORTED,
                 "%s has one GEMM (--gemm is for OpenCL devices)",
                 be->description);
    if (desc && len) snprintf(desc, len, "%s", be->kind);
    return RBPE_OK;
  }
  return be->ops->gemm_path(be, want, desc, len);
}

/* rbpe_write_file: the public face of rbpe_write_atomic (base/fileio.c). */
typedef struct user_writer {
  rbpe_file_writer fn;
  void *user;
  const char *path;
} user_writer;

static rbpe_status call_user(FILE *f, void *u, rbpe_err *err) {
  user_writer *w = u;
  if (w->fn(f, w->user) != 0)
    return rbpe_err_set(err, RBPE_ERR_IO, "writing %s failed%s%s", w->path,
                        errno ? ": " : "", errno ? strerror(errno) : "");
  return RBPE_OK;
}

rbpe_status rbpe_write_file(rbpe_ctx *ctx, const char *path,
                            rbpe_file_writer write, void *user) {
  rbpe_err_clear(&ctx->err);
  user_writer w = {write, user, path};
  errno = 0;
  return rbpe_write_atomic(path, call_user, &w, &ctx->err);
}
