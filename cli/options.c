/* options.c - options several verbs share: --mode, and the answering LLM's flags (ask, eval, serve). */
#include "cli.h"
#include <string.h>

int cli_parse_mode(const char *verb, const char *usage, const char *arg, int allow_auto, ar_search_mode *out) {
  ar_search_mode m;
  if (ar_search_mode_parse(arg, &m, NULL) != AR_OK || (m == AR_MODE_AUTO && !allow_auto)) {
    cli_usage_error(verb, usage, "--mode expects %shybrid, dense or lexical, got '%s'", allow_auto ? "auto, " : "",
                    arg ? arg : "");
    return -1;
  }
  *out = m;
  return 0;
}

int cli_llm_opt(cli_llm *o, const char *verb, int c, const char *arg) {
  switch (c) {
  case CLI_O_LLM_URL: o->url = arg; break;
  case CLI_O_LLM_MODEL: o->model = arg; break;
  case CLI_O_NO_CACHE: o->no_cache = 1; break;
  case CLI_O_CONTEXT_TOKENS:
    if (cli_parse_int(verb, "--context-tokens", arg, 100, 10000000, &o->context_tokens)) return -1;
    break;
  case CLI_O_TEMPERATURE:
    if (cli_parse_double(verb, "--temperature", arg, 0, 2, &o->temperature)) return -1;
    o->set_temperature = 1;
    break;
  case CLI_O_SEED:
    if (cli_parse_int(verb, "--seed", arg, -2147483647, 2147483647, &o->seed)) return -1;
    o->set_seed = 1;
    break;
  case CLI_O_TIMEOUT: if (cli_parse_double(verb, "--timeout", arg, 0.001, 86400, &o->timeout_s)) return -1; break;
  case CLI_O_RETRIES:
    if (cli_parse_int(verb, "--retries", arg, 0, 20, &o->retries)) return -1;
    o->set_retries = 1;
    break;
  default: return 0;
  }
  return 1;
}

void cli_llm_apply(const cli_llm *o, ar_llm_params *llm, int *context_tokens) {
  if (o->url) llm->base_url = o->url;
  if (o->model) llm->model = o->model;
  if (o->no_cache) llm->use_cache = 0;
  if (o->context_tokens && context_tokens) *context_tokens = o->context_tokens;
  if (o->set_temperature) llm->temperature = o->temperature;
  if (o->set_seed) llm->seed = o->seed;
  if (o->timeout_s > 0) {
    llm->timeout_ms = (int)(o->timeout_s * 1000 + 0.5);
    if (llm->connect_timeout_ms > llm->timeout_ms) llm->connect_timeout_ms = llm->timeout_ms;
  }
  if (o->set_retries) llm->max_retries = o->retries;
  ar_llm_params_from_env(llm);
}

int cli_check_embedder(const char *verb, const char *usage, ar_search_mode mode, const char *model,
                       const cli_embed *ce) {
  if ((mode == AR_MODE_DENSE || mode == AR_MODE_HYBRID) && !model && !ce->url) {
    cli_usage_error(verb, usage, "--mode %s needs an embedder: give --model DIR or --embed-url URL (or set "
                    "AULARAG_MODEL or AULARAG_EMBED_URL)", ar_search_mode_name(mode));
    return -1;
  }
  return 0;
}

int cli_fail_index(const ar_error *err, const char *index) {
  int rc = cli_fail(err);
  if (err->status == AR_ERR_NOTFOUND && strstr(err->msg, "course '"))
    fprintf(stderr, "aularag: `aularag info -i %s` lists the courses\n", index);
  else if (err->status == AR_ERR_NOTFOUND && strstr(err->msg, "no vectors"))
    fprintf(stderr, "aularag: ingest with --model DIR (or --embed-url URL) to add them\n");
  else if (err->status == AR_ERR_NOTFOUND && strstr(err->msg, "no such index"))
    fprintf(stderr, "aularag: create it with `aularag ingest -i %s PATH...`\n", index);
  return rc;
}
