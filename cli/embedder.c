/* embedder.c - the --embed-* options: vectors from an embeddings server, for every verb that embeds. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

int cli_embed_opt(cli_embed *ce, const char *verb, int c, const char *arg) {
  switch (c) {
  case CLI_O_EMBED_URL: ce->url = arg; return 1;
  case CLI_O_EMBED_MODEL: ce->model = arg; ce->model_flag = 1; return 1;
  case CLI_O_EMBED_DIM:
    return cli_parse_int(verb, "--embed-dim", arg, 1, 65536, &ce->dim) ? -1 : 1;
  default: return 0;
  }
}

int cli_embed_resolve(cli_embed *ce, const char *verb, const char *usage, const char **model_dir) {
  if (ce->url && *model_dir)
    return cli_usage_error(verb, usage, "--embed-url and --model both say how to embed text: give one of them");
  if (!ce->url && !*model_dir) {
    /* Decision: a flag for one source wins over the other's variable; two variables are ambiguous */
    const char *url = cli_env_default(NULL, "AULARAG_EMBED_URL"), *dir = cli_env_default(NULL, "AULARAG_MODEL");
    if (url && dir)
      return cli_usage_error(verb, usage, "AULARAG_EMBED_URL and AULARAG_MODEL are both set: choose with "
                             "--embed-url URL or --model DIR");
    ce->url = url;
    *model_dir = dir;
  }
  if (!ce->url && ce->model_flag) return cli_usage_error(verb, usage, "--embed-model needs --embed-url URL");
  if (ce->url) {
    ce->model = cli_env_default(ce->model, "AULARAG_EMBED_MODEL");
    if (!ce->model)
      return cli_usage_error(verb, usage, "--embed-url needs --embed-model NAME (or AULARAG_EMBED_MODEL): the "
                             "index records which model made its vectors");
  }
  return 0;
}

int cli_embed_open(cli_embed *ce, ar_index *ix, const ar_embedder **out) {
  *out = NULL;
  if (!ce->url) return 0;
  ar_embed_api_params p = ar_embed_api_default_params();
  p.base_url = ce->url;
  p.model = ce->model;
  p.dim = ce->dim;
  ar_index_info info;
  /* the index already says what this model gives: no probe request (replies are still checked) */
  if (!p.dim && ix && ar_index_info_get(ix, &info, NULL) == AR_OK && info.n_vectors > 0 &&
      !strncmp(info.model, "api:", 4) && !strcmp(info.model + 4, ce->model))
    p.dim = info.dim;
  ar_embed_api_params_from_env(&p);   /* the API key */
  ar_error err = {0};
  if (ar_embed_api_open(&p, &ce->api, &err) != AR_OK) return cli_fail(&err);
  ce->e = ar_embed_api_embedder(ce->api);
  ce->group = p.batch * p.concurrency;
  *out = &ce->e;
  return 0;
}

void cli_embed_close(cli_embed *ce) {
  ar_embed_api_free(ce->api);
  ce->api = NULL;
}
