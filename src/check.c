/* rbpe_check_ops: the op-by-op comparison of src/opcheck.c against a fresh
 * ref backend, for users (`rbpe check`) through the public API. */
#include <string.h>

#include "backend/ref.h"
#include "internal.h"
#include "opcheck.h"

typedef struct relay {
  rbpe_check_fn fn;
  void *user;
  const char *op; /* replaces the op's name when set */
} relay;

static void forward_row(const rbpe_opcheck_result *r, void *user) {
  relay *rl = user;
  if (!rl->fn) return;
  rbpe_check_row row;
  memset(&row, 0, sizeof row);
  row.op = rl->op ? rl->op : r->op;
  memcpy(row.shape, r->shape, sizeof row.shape);
  row.count = r->count;
  row.max_abs = r->max_abs;
  row.max_rel = r->max_rel;
  row.atol = r->atol;
  row.rtol = r->rtol;
  row.pass = r->pass;
  rl->fn(&row, rl->user);
}

rbpe_status rbpe_check_ops(rbpe_ctx *ctx, int small, const char *only,
                           rbpe_check_fn fn, void *user, int *failures) {
  rbpe_err_clear(&ctx->err);
  rbpe_backend *dev, *ref;
  RBPE_TRY(rbpe_ctx_backend(ctx, &dev));
  RBPE_TRY(rbpe_ref_backend_create(&ctx->err, &ref));
  relay rl = {fn, user, NULL};
  rbpe_status st = rbpe_opcheck_run(ref, dev, small, only, forward_row, &rl,
                                    failures);
  /* A device with other GEMM routes (OpenCL: the other of rbpe's own
   * kernels and CLBlast; then CLBlast's indirect kernel, which products of
   * training size take and these shapes do not) checks the GEMM cases
   * again down each, the last of which stays so on this device for the
   * rest of the process. */
  for (int i = 0; st == RBPE_OK && (!only || !strcmp(only, "gemm")) &&
                  rbpe_backend_supports(dev, RBPE_HOOK_ALT_GEMM_ROUTE);
       i++) {
    int more = 0;
    st = dev->ops->alt_gemm_route(dev, i, &rl.op);
    if (st != RBPE_OK || !rl.op) break;
    st = rbpe_opcheck_run(ref, dev, small, "gemm,linear", forward_row, &rl, &more);
    *failures += more;
  }
  rbpe_backend_close(ref);
  return st;
}
