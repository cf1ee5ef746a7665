/* The names of the library's enumerations: one table each, for the
 * strings metrics.json and the command line use and for parsing them. */
#include <string.h>

#include "internal.h"

typedef struct enum_table {
  const char *what; /* in an error message: "unknown WHAT 'x'" */
  int count;
  const char *const *names;
} enum_table;

static const char *const embed_names[] = {"nerf", "rff", "rbf"};
static const char *const sigma_mode_names[] = {"uniform", "graph", "poly"};
static const char *const sigma_at_names[] = {"nearest", "smooth", "poly"};
static const char *const act_names[] = {"none", "relu", "sigmoid", "auto"};
static const char *const range_names[] = {"abs", "rel", "local"};

#define TABLE(what, names) {what, (int)(sizeof names / sizeof names[0]), names}
static const enum_table tables[] = {
    [RBPE_ENUM_EMBED] = TABLE("embedding", embed_names),
    [RBPE_ENUM_SIGMA_MODE] = TABLE("sigma mode", sigma_mode_names),
    [RBPE_ENUM_SIGMA_AT] = TABLE("held-out sigma rule", sigma_at_names),
    [RBPE_ENUM_ACT] = TABLE("output activation", act_names),
    [RBPE_ENUM_RANGE] = TABLE("sigma range unit", range_names),
};

int rbpe_enum_names(rbpe_enum which, const char *const **names) {
  if ((unsigned)which >= sizeof tables / sizeof tables[0]) return 0;
  if (names) *names = tables[which].names;
  return tables[which].count;
}

const char *rbpe_enum_string(rbpe_enum which, int value) {
  const char *const *names;
  int n = rbpe_enum_names(which, &names);
  return value >= 0 && value < n ? names[value] : "?";
}

rbpe_status rbpe_enum_parse(rbpe_ctx *ctx, rbpe_enum which, const char *text,
                            int *value) {
  const char *const *names;
  int n = rbpe_enum_names(which, &names);
  for (int k = 0; k < n && text; k++)
    if (strcmp(text, names[k]) == 0) {
      *value = k;
      return RBPE_OK;
    }
  char list[128] = "";
  size_t o = 0;
  for (int k = 0; k < n && o < sizeof list; k++)
    o += (size_t)snprintf(list + o, sizeof list - o, "%s%s",
                          k == 0 ? "" : k == n - 1 ? " or " : ", ", names[k]);
  return rbpe_err_set(&ctx->err, RBPE_ERR_INVALID_ARGUMENT,
                      "unknown %s '%s' (expected %s)",
                      n ? tables[which].what : "value", text ? text : "", list);
}

const char *rbpe_embed_kind_string(rbpe_embed_kind k) {
  return rbpe_enum_string(RBPE_ENUM_EMBED, (int)k);
}
const char *rbpe_sigma_mode_string(rbpe_sigma_mode mode) {
  return rbpe_enum_string(RBPE_ENUM_SIGMA_MODE, (int)mode);
}
const char *rbpe_sigma_at_string(rbpe_sigma_at at) {
  return rbpe_enum_string(RBPE_ENUM_SIGMA_AT, (int)at);
}
const char *rbpe_act_string(rbpe_act a) {
  return rbpe_enum_string(RBPE_ENUM_ACT, (int)a);
}

rbpe_status rbpe_embed_kind_parse(rbpe_ctx *ctx, const char *text,
                                  rbpe_embed_kind *kind) {
  int v;
  RBPE_TRY(rbpe_enum_parse(ctx, RBPE_ENUM_EMBED, text, &v));
  *kind = (rbpe_embed_kind)v;
  return RBPE_OK;
}
