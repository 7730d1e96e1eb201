/* pending.c - TEMPORARY weak stand-ins for stages not yet merged into this branch (the encoder),
 * so the branch links. Each fails with "not built yet"; the real (strong) definitions replace them. */
#include "core/util.h"

#define WEAK __attribute__((weak))
static ar_status pending(ar_error *err, const char *what) {
  return ar_fail(err, AR_ERR_NOTFOUND, "%s: not built yet on this branch", what);
}
WEAK ar_model_params ar_model_default_params(void) { ar_model_params p = {0}; return p; }
WEAK ar_status ar_model_load(const char *dir, ar_model_params p, ar_model **out, ar_error *err) {
  (void)dir; (void)p; *out = NULL; return pending(err, "ar_model_load");
}
WEAK const char *ar_model_fingerprint(const ar_model *m) { (void)m; return ""; }
WEAK void ar_model_free(ar_model *m) { (void)m; }
