/* cli.h - what the verbs share: exit codes, option helpers, environment defaults. */
#ifndef AR_CLI_H
#define AR_CLI_H
#include "aularag.h"
#include <stdio.h>

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

/* Maps a library status to the CLI's exit code (AR_ERR_INVALID is a usage error). */
int cli_exit_code(ar_status s);
/* Prints "aularag: <msg>" to stderr and returns the exit code for err->status. */
int cli_fail(const ar_error *err);
/* Prints "aularag <verb>: <msg>\n<usage>" to stderr and returns EXIT_USAGE. */
int cli_usage_error(const char *verb, const char *usage, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Option values: parse strictly; on error print a usage error and return -1. */
int cli_parse_int(const char *verb, const char *opt, const char *s, int lo, int hi, int *out);
int cli_parse_double(const char *verb, const char *opt, const char *s, double lo, double hi, double *out);
/* The words argv[from..argc) joined by single spaces (the question), malloc'd; NULL when out of memory. */
char *cli_join_args(int argc, char **argv, int from);
/* flag value or environment default (NULL when neither). */
const char *cli_env_default(const char *value, const char *env_name);

/* --embed-url/--embed-model/--embed-dim: vectors from an embeddings server instead of --model DIR, shared by
 * ingest, search, ask, eval and serve (cli/embedder.c). A verb adds CLI_EMBED_LONGOPTS to its options,
 * CLI_EMBED_USAGE to its help, hands each getopt result to cli_embed_opt first, calls cli_embed_resolve
 * where it would read $AULARAG_MODEL, and cli_embed_open when it needs the embedder. */
enum { CLI_O_EMBED_URL = 1000, CLI_O_EMBED_MODEL, CLI_O_EMBED_DIM };
#define CLI_EMBED_LONGOPTS                                                                                \
  {"embed-url", required_argument, 0, CLI_O_EMBED_URL}, {"embed-model", required_argument, 0, CLI_O_EMBED_MODEL}, \
  {"embed-dim", required_argument, 0, CLI_O_EMBED_DIM}
#define CLI_EMBED_USAGE                                                                                   \
  "  --embed-url URL      embeddings server (OpenAI-compatible /v1/embeddings) instead of --model\n"      \
  "                       (default $AULARAG_EMBED_URL; API key $AULARAG_EMBED_API_KEY)\n"                 \
  "  --embed-model NAME   model name sent to it, recorded in the index (default $AULARAG_EMBED_MODEL)\n"  \
  "  --embed-dim N        the vectors' dimension (default: the server's first reply)\n"
typedef struct cli_embed {
  const char *url, *model;
  int model_flag, dim;
  ar_embed_api *api;
  ar_embedder e;
  int group;             /* texts per embed call that keep every request in flight (ingest's batch) */
} cli_embed;
/* 1 when getopt result c was one of the --embed-* options (taken), 0 when not, -1 after a usage error. */
int cli_embed_opt(cli_embed *ce, const char *verb, int c, const char *arg);
/* After parsing: fills the embeddings server and *model_dir from the environment (a flag for one source
 * beats the other's variable) and refuses both at once. 0, or EXIT_USAGE after printing. */
int cli_embed_resolve(cli_embed *ce, const char *verb, const char *usage, const char **model_dir);
/* When a server is configured: opens it and sets *out to its embedder; else *out = NULL. The dimension
 * is --embed-dim, else that of ix's vectors when the same server model made them (ix may be NULL), else
 * one request learns it. 0, or an exit code after printing the error. */
int cli_embed_open(cli_embed *ce, ar_index *ix, const ar_embedder **out);
void cli_embed_close(cli_embed *ce);
/* --precision fp32|int8 (getopt value CLI_O_PRECISION; default $AULARAG_PRECISION, then fp32) into
 * mp->precision; a usage error (returns -1) for anything else. */
enum { CLI_O_PRECISION = 1010 };  /* after CLI_O_EMBED_* */
#define CLI_PRECISION_HELP "  --precision P        encoder arithmetic: fp32 (default) or int8 (default $AULARAG_PRECISION)\n"
int cli_precision(const char *verb, const char *usage, const char *value, ar_model_params *mp);

/* --mode (cli/options.c): "hybrid", "dense", "lexical", and "auto" where allow_auto; 0, or -1 after
 * printing a usage error. */
int cli_parse_mode(const char *verb, const char *usage, const char *arg, int allow_auto, ar_search_mode *out);

/* The answering LLM's flags, one table for ask, eval and serve (cli/options.c): a verb adds
 * CLI_LLM_LONGOPTS to its options, hands each getopt result to cli_llm_opt, and after parsing calls
 * cli_llm_apply (flags, then the environment for what no flag set). */
enum { CLI_O_LLM_URL = 1020, CLI_O_LLM_MODEL, CLI_O_NO_CACHE, CLI_O_CONTEXT_TOKENS, CLI_O_TEMPERATURE, CLI_O_SEED,
       CLI_O_TIMEOUT, CLI_O_RETRIES };  /* after CLI_O_PRECISION */
#define CLI_LLM_LONGOPTS                                                                                      \
  {"llm-url", required_argument, 0, CLI_O_LLM_URL}, {"llm-model", required_argument, 0, CLI_O_LLM_MODEL},      \
  {"no-cache", no_argument, 0, CLI_O_NO_CACHE}, {"context-tokens", required_argument, 0, CLI_O_CONTEXT_TOKENS}, \
  {"temperature", required_argument, 0, CLI_O_TEMPERATURE}, {"seed", required_argument, 0, CLI_O_SEED},        \
  {"timeout", required_argument, 0, CLI_O_TIMEOUT}, {"retries", required_argument, 0, CLI_O_RETRIES}
typedef struct cli_llm {
  const char *url, *model;
  int no_cache, context_tokens, seed, retries;   /* context_tokens 0: not given */
  double temperature, timeout_s;                 /* timeout_s 0: not given */
  int set_temperature, set_seed, set_retries;
} cli_llm;
/* 1 when c was one of the LLM options (taken), 0 when not, -1 after a usage error. */
int cli_llm_opt(cli_llm *o, const char *verb, int c, const char *arg);
/* The flags given into *llm (and *context_tokens, which may be NULL), then ar_llm_params_from_env. */
void cli_llm_apply(const cli_llm *o, ar_llm_params *llm, int *context_tokens);

/* The library's messages name no flags (cli/options.c): a dense or hybrid --mode without --model or
 * --embed-url is a usage error here (0, or -1 after printing), and cli_fail_index prints err plus
 * the command that helps (a course not found, an index without vectors or not there). */
int cli_check_embedder(const char *verb, const char *usage, ar_search_mode mode, const char *model,
                       const cli_embed *ce);
int cli_fail_index(const ar_error *err, const char *index);

/* ---- models and reranking (issue #15, cli/models.c) ----
 * --rerank DIR / --rerank-top N (default $AULARAG_RERANK) on search, ask, eval, serve; --query-prefix /
 * --passage-prefix (the prompts, overriding the model's files) on the verbs that embed. A verb adds
 * CLI_MODELS_LONGOPTS (or CLI_PROMPT_LONGOPTS alone), hands getopt results to cli_models_opt first, calls
 * cli_models_resolve after parsing, cli_models_prefixes on the model it loads and cli_models_open to
 * load the reranker into its search params (freed with ar_model_free(sp.reranker)). */
enum { CLI_O_RERANK = 1040, CLI_O_RERANK_TOP, CLI_O_QUERY_PREFIX, CLI_O_PASSAGE_PREFIX };
#define CLI_PROMPT_LONGOPTS                                                                                \
  {"query-prefix", required_argument, 0, CLI_O_QUERY_PREFIX}, {"passage-prefix", required_argument, 0, CLI_O_PASSAGE_PREFIX}
#define CLI_MODELS_LONGOPTS                                                                                \
  {"rerank", required_argument, 0, CLI_O_RERANK}, {"rerank-top", required_argument, 0, CLI_O_RERANK_TOP}, \
  CLI_PROMPT_LONGOPTS
#define CLI_PROMPT_USAGE                                                                                   \
  "  --query-prefix S     prompt before questions (default: the model's files, else e5's \"query: \")\n"  \
  "  --passage-prefix S   prompt before segments (default: the model's files, else \"passage: \"); the\n"   \
  "                       index records them: search with the prompts the index was built with\n"
#define CLI_RERANK_USAGE                                                                                   \
  "  --rerank DIR         cross-encoder (BERT/XLM-R sequence classifier) that re-orders the first\n"       \
  "                       stage's top hits by its score (default $AULARAG_RERANK)\n"                     \
  "  --rerank-top N       first-stage hits it scores (default 30)\n"
typedef struct cli_models {
  const char *rerank;
  int top, top_set;
  const char *prefix[2];   /* [AR_EMBED_QUERY], [AR_EMBED_PASSAGE]; NULL: the model's */
} cli_models;
int cli_models_opt(cli_models *cm, const char *verb, int c, const char *arg);  /* 1 taken, 0 not, -1 usage error */
int cli_models_resolve(cli_models *cm, const char *verb, const char *usage);   /* 0 or EXIT_USAGE */
int cli_models_prefixes(const cli_models *cm, ar_model *m);                    /* m may be NULL; 0 or exit code */
int cli_models_open(cli_models *cm, ar_model_params mp, ar_search_params *sp); /* 0 or exit code (printed) */

/* One verb per file: cli/cmd_<verb>.c */
int cmd_ingest(int argc, char **argv);
int cmd_search(int argc, char **argv);
int cmd_ask(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_snapshot(int argc, char **argv);
int cmd_annotate(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_model(int argc, char **argv);
int cmd_transcribe(int argc, char **argv);
/* ar_transcribe with the CLI's progress bar and messages; prints the summary line. 0, or an exit code. */
int cli_transcribe(ar_transcribe_params *tp, const char *const *paths, int n, int quiet);
/* argv[from..argc): named media files replaced by their transcripts (dropped when missing); the new argc. */
int cli_ingest_transcripts(int argc, char **argv, int from);
int cmd_rerank(int argc, char **argv);
#endif
