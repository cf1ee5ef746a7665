/* The context: the selected backend and the last error, plus the public
 * entry points that only forward to them. */
#include <stdlib.h>

#include "internal.h"

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
  return rbpe_opencl_list_devices(&ctx->err, devices, count, platforms_found);
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
  RBPE_FAIL_IF(!be->ops->tune_gemm, &ctx->err, RBPE_ERR_UNSUPPORTED,
               "%s has no GEMM to tune (tuning is for OpenCL devices)",
               be->description);
  RBPE_FAIL_IF(req->batch < 1 || req->batch > (1u << 24) || req->width < 1 ||
                   req->width > 8192 || !(req->seconds > 0) || req->seconds > 60,
               &ctx->err, RBPE_ERR_INVALID_ARGUMENT,
               "tune: batch 1..2^24, width 1..8192, seconds in (0, 60]");
  return be->ops->tune_gemm(be, req, report);
}

int rbpe_ctx_tuned(rbpe_ctx *ctx) { return ctx && ctx->be && ctx->be->tuned; }
