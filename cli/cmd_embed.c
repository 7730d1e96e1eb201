/* cmd_embed.c - `aularag embed`: E5 embeddings of stdin lines, one JSON array of floats per line. */
#include "cli.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static const char *usage_text =
  "usage: aularag embed --model DIR [--query|--passage|--raw] [--threads N] [--batch N] [--ids|--count]\n"
  "                    [--gemm packed|openblas] [--precision fp32|int8] [--query-prefix S]\n"
  "                    [--passage-prefix S] < lines\n"
  "\n"
  "Prints one JSON array (the L2-normalised embedding, %.9g floats) per input line, in order.\n"
  "  --model DIR   hub model directory (config.json, model.safetensors, tokenizer); default $AULARAG_MODEL\n"
  "  --query       prepend \"query: \" (default)\n"
  "  --passage     prepend \"passage: \"\n"
  "  --raw         no prefix\n"
  "  --query-prefix S, --passage-prefix S   the prompts --query / --passage prepend (default: the\n"
  "                model's sentence-transformers files, else e5's \"query: \" / \"passage: \")\n"
  "  --threads N   compute threads (default: all cores)\n"
  "  --batch N     lines per forward batch (default 32)\n"
  "  --gemm B      matrix products: packed (default, our kernel over weights packed at load) or\n"
  "                openblas (OpenBLAS sgemm, the reference)\n"
  "  --precision P fp32 (default) or int8: linear layers in int8 (default $AULARAG_PRECISION)\n"
  "  --ids         lines are JSON arrays of token ids (specials included) instead of text\n"
  "  --count       print each line's token count instead (prefix and specials included, before\n"
  "                truncation at the model's limit)\n";

/* Parses "[1, 2, 3]" into a malloc'd int array; -1 on error. */
static int parse_ids(const char *line, int32_t **out, int *n) {
  json_error_t je;
  json_t *a = json_loads(line, 0, &je);
  if (!json_is_array(a) || json_array_size(a) == 0) { json_decref(a); return -1; }
  *n = (int)json_array_size(a);
  *out = malloc((size_t)*n * sizeof **out);
  for (int i = 0; i < *n; i++) {
    json_t *v = json_array_get(a, (size_t)i);
    if (!*out || !json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX) {
      json_decref(a); free(*out); *out = NULL; return -1;
    }
    (*out)[i] = (int32_t)json_integer_value(v);
  }
  json_decref(a);
  return 0;
}

typedef struct batch { char **lines; int32_t **ids; int *n_ids; int n; } batch;

static int flush(ar_model *m, ar_embed_kind kind, int use_ids, batch *b, float *vec, long first_line) {
  if (!b->n) return 0;
  ar_error err = {0};
  ar_status s;
  if (use_ids) {
    for (int i = 0; i < b->n; i++)
      if (parse_ids(b->lines[i], &b->ids[i], &b->n_ids[i])) {
        fprintf(stderr, "aularag embed: stdin line %ld: expected a JSON array of token ids\n", first_line + i);
        for (int j = 0; j < i; j++) { free(b->ids[j]); b->ids[j] = NULL; }
        return EXIT_RUNTIME;
      }
    s = ar_model_embed_ids(m, (const int32_t *const *)b->ids, b->n_ids, b->n, vec, &err);
    for (int i = 0; i < b->n; i++) { free(b->ids[i]); b->ids[i] = NULL; }
  } else {
    s = ar_model_embed_texts(m, kind, (const char *const *)b->lines, b->n, vec, &err);
  }
  if (s != AR_OK) {
    fprintf(stderr, "aularag embed: stdin lines %ld-%ld: %s\n", first_line, first_line + b->n - 1, err.msg);
    return cli_exit_code(s) == EXIT_USAGE ? EXIT_RUNTIME : cli_exit_code(s);
  }
  int dim = ar_model_dim(m);
  for (int i = 0; i < b->n; i++) {
    putchar('[');
    for (int j = 0; j < dim; j++) printf(j ? ",%.9g" : "%.9g", vec[(size_t)i * dim + j]);
    fputs("]\n", stdout);
  }
  for (int i = 0; i < b->n; i++) free(b->lines[i]);
  b->n = 0;
  return ferror(stdout) ? EXIT_RUNTIME : 0;
}

int cmd_embed(int argc, char **argv) {
  const char *model_dir = NULL;
  ar_embed_kind kind = AR_EMBED_QUERY;
  int threads = 0, bsize = 32, use_ids = 0, count = 0;
  ar_gemm_backend gemm = AR_GEMM_PACKED;
  const char *precision = NULL, *prefix[2] = {NULL, NULL};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage_text, stdout); return EXIT_OK; }
    else if (!strcmp(a, "--query")) kind = AR_EMBED_QUERY;
    else if (!strcmp(a, "--passage")) kind = AR_EMBED_PASSAGE;
    else if (!strcmp(a, "--raw")) kind = AR_EMBED_RAW;
    else if (!strcmp(a, "--ids")) use_ids = 1;
    else if (!strcmp(a, "--count")) count = 1;
    else if (!strcmp(a, "--model") || !strcmp(a, "--threads") || !strcmp(a, "--batch") || !strcmp(a, "--gemm") ||
             !strcmp(a, "--precision") || !strcmp(a, "--query-prefix") || !strcmp(a, "--passage-prefix")) {
      if (i + 1 >= argc) return cli_usage_error("embed", usage_text, "%s needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--model")) model_dir = v;
      else if (!strcmp(a, "--query-prefix")) prefix[AR_EMBED_QUERY] = v;
      else if (!strcmp(a, "--passage-prefix")) prefix[AR_EMBED_PASSAGE] = v;
      else if (!strcmp(a, "--precision")) precision = v;
      else if (!strcmp(a, "--gemm")) {
        if (!strcmp(v, "packed")) gemm = AR_GEMM_PACKED;
        else if (!strcmp(v, "openblas")) gemm = AR_GEMM_OPENBLAS;
        else return cli_usage_error("embed", usage_text, "--gemm must be packed or openblas, not '%s'", v);
      }
      else if (!strcmp(a, "--threads")) { if (cli_parse_int("embed", a, v, 1, 1024, &threads)) return EXIT_USAGE; }
      else if (cli_parse_int("embed", a, v, 1, 65536, &bsize)) return EXIT_USAGE;
    } else {
      return cli_usage_error("embed", usage_text, "unknown option '%s'", a);
    }
  }
  model_dir = cli_env_default(model_dir, "AULARAG_MODEL");
  if (!model_dir) return cli_usage_error("embed", usage_text, "no model: pass --model DIR or set AULARAG_MODEL");
  ar_model_params mp = ar_model_default_params();
  mp.n_threads = threads;
  mp.ids_only = use_ids;
  mp.gemm = gemm;
  if (cli_precision("embed", usage_text, precision, &mp)) return EXIT_USAGE;
  ar_model *m;
  ar_error err = {0};
  if (ar_model_load(model_dir, mp, &m, &err) != AR_OK) {
    fprintf(stderr, "aularag embed: %s\n", err.msg);
    return cli_exit_code(err.status) == EXIT_USAGE ? EXIT_RUNTIME : cli_exit_code(err.status);
  }
  for (int k = AR_EMBED_QUERY; k <= AR_EMBED_PASSAGE; k++)
    if (prefix[k] && ar_model_set_prefix(m, (ar_embed_kind)k, prefix[k], &err) != AR_OK) {
      ar_model_free(m);
      return cli_fail(&err);
    }
  batch b = {calloc((size_t)bsize, sizeof(char *)), calloc((size_t)bsize, sizeof(int32_t *)),
             calloc((size_t)bsize, sizeof(int)), 0};
  float *vec = malloc((size_t)bsize * (size_t)ar_model_dim(m) * sizeof(float));
  int rc = (b.lines && b.ids && b.n_ids && vec) ? EXIT_OK : EXIT_RUNTIME;
  if (rc) fprintf(stderr, "aularag embed: out of memory\n");
  char *line = NULL;
  size_t cap = 0;
  ssize_t len;
  long lineno = 0, first = 1;
  while (!rc && (len = getline(&line, &cap, stdin)) >= 0) {
    lineno++;
    if (len && line[len - 1] == '\n') line[--len] = 0;
    if (len && line[len - 1] == '\r') line[--len] = 0;
    if (count) {
      int c = ar_model_count_tokens(m, kind, line, (size_t)len);
      if (c < 0) { fprintf(stderr, "aularag embed: stdin line %ld: cannot count tokens\n", lineno); rc = EXIT_RUNTIME; }
      else printf("%d\n", c);
      continue;
    }
    if (!(b.lines[b.n++] = strdup(line))) { rc = EXIT_RUNTIME; break; }
    if (b.n == bsize) { rc = flush(m, kind, use_ids, &b, vec, first); first = lineno + 1; }
  }
  if (!rc) rc = flush(m, kind, use_ids, &b, vec, first);
  if (fflush(stdout) && !rc) rc = EXIT_RUNTIME;
  for (int i = 0; i < b.n; i++) free(b.lines[i]);
  free(line); free(vec); free(b.lines); free(b.ids); free(b.n_ids);
  ar_model_free(m);
  return rc;
}
