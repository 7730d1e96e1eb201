/* pending.c - TEMPORARY weak stand-ins for stages not yet merged into this branch (answers, encoder),
 * so the branch links. Each fails with "not built yet"; the real (strong) definitions replace them. */
#include "core/util.h"

#define WEAK __attribute__((weak))
static ar_status pending(ar_error *err, const char *what) {
  return ar_fail(err, AR_ERR_NOTFOUND, "%s: not built yet on this branch", what);
}
WEAK ar_llm_params ar_llm_default_params(void) { ar_llm_params p; memset(&p, 0, sizeof p); p.use_cache = 1; return p; }
WEAK void ar_llm_params_from_env(ar_llm_params *p) { (void)p; }
WEAK ar_ask_params ar_ask_default_params(void) {
  ar_ask_params p;
  p.search = ar_search_default_params();
  p.llm = ar_llm_default_params();
  p.context_tokens = 6000;
  return p;
}
WEAK ar_status ar_ask(ar_index *ix, const char *q, const ar_ask_params *p, ar_answer *out, ar_error *err) {
  (void)ix; (void)q; (void)p; memset(out, 0, sizeof *out); return pending(err, "ar_ask");
}
WEAK void ar_answer_free(ar_answer *a) { (void)a; }
WEAK char *ar_answer_to_json(const ar_answer *a, int hide_urls) { (void)a; (void)hide_urls; return NULL; }
WEAK ar_model_params ar_model_default_params(void) { ar_model_params p = {0}; return p; }
WEAK ar_status ar_model_load(const char *dir, ar_model_params p, ar_model **out, ar_error *err) {
  (void)dir; (void)p; *out = NULL; return pending(err, "ar_model_load");
}
WEAK const char *ar_model_fingerprint(const ar_model *m) { (void)m; return ""; }
WEAK void ar_model_free(ar_model *m) { (void)m; }
