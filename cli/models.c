/* models.c - the options of issue #15 shared by the verbs that embed or retrieve: --rerank DIR and
 * --rerank-top N (a cross-encoder over the first stage), --query-prefix / --passage-prefix (the prompts). */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

int cli_models_opt(cli_models *cm, const char *verb, int c, const char *arg) {
  switch (c) {
  case CLI_O_RERANK: cm->rerank = arg; return 1;
  case CLI_O_RERANK_TOP: cm->top_set = 1; return cli_parse_int(verb, "--rerank-top", arg, 1, 10000, &cm->top) ? -1 : 1;
  case CLI_O_QUERY_PREFIX: cm->prefix[AR_EMBED_QUERY] = arg; return 1;
  case CLI_O_PASSAGE_PREFIX: cm->prefix[AR_EMBED_PASSAGE] = arg; return 1;
  default: return 0;
  }
}

int cli_models_resolve(cli_models *cm, const char *verb, const char *usage) {
  cm->rerank = cli_env_default(cm->rerank, "AULARAG_RERANK");
  if (cm->top_set && !cm->rerank)
    return cli_usage_error(verb, usage, "--rerank-top needs --rerank DIR (or AULARAG_RERANK)");
  return 0;
}

int cli_models_prefixes(const cli_models *cm, ar_model *m) {
  ar_error err = {0};
  for (int k = AR_EMBED_QUERY; m && k <= AR_EMBED_PASSAGE; k++)
    if (cm->prefix[k] && ar_model_set_prefix(m, (ar_embed_kind)k, cm->prefix[k], &err) != AR_OK) return cli_fail(&err);
  return 0;
}

int cli_models_open(cli_models *cm, ar_model_params mp, ar_search_params *sp) {
  if (!cm->rerank) return 0;
  ar_error err = {0};
  if (ar_model_load(cm->rerank, mp, &sp->reranker, &err) != AR_OK) return cli_fail(&err);
  if (!ar_model_num_labels(sp->reranker)) {
    fprintf(stderr, "aularag: %s: not a cross-encoder (config.json \"architectures\" names no "
            "*ForSequenceClassification): --rerank needs one\n", cm->rerank);
    ar_model_free(sp->reranker);
    sp->reranker = NULL;
    return EXIT_RUNTIME;
  }
  if (cm->top_set) sp->rerank_top = cm->top;
  return 0;
}
