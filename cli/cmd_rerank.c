/* cmd_rerank.c - `aularag rerank`: a cross-encoder's scores of (QUESTION, line) for each stdin line. */
#include "cli.h"
#include <stdlib.h>
#include <string.h>

static const char *usage_text =
  "usage: aularag rerank --model DIR [--logits] [--threads N] [--precision P] QUESTION... < passages\n"
  "\n"
  "Prints one score per stdin line (%.9g), in order: the cross-encoder's logit for (QUESTION, line) (with\n"
  "2+ labels, that of label 1), as --rerank orders search hits by.\n"
  "  --model DIR   BertForSequenceClassification / XLMRobertaForSequenceClassification hub directory\n"
  "                (default $AULARAG_RERANK)\n"
  "  --logits      print every label's logit as a JSON array instead\n"
  "  --threads N   compute threads (default: all cores)\n"
  CLI_PRECISION_HELP;

int cmd_rerank(int argc, char **argv) {
  const char *dir = NULL, *precision = NULL;
  int threads = 0, logits = 0, i = 1;
  for (; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--")) { i++; break; }
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage_text, stdout); return EXIT_OK; }
    else if (!strcmp(a, "--logits")) logits = 1;
    else if (!strcmp(a, "--model") || !strcmp(a, "--threads") || !strcmp(a, "--precision")) {
      if (i + 1 >= argc) return cli_usage_error("rerank", usage_text, "%s needs a value", a);
      const char *v = argv[++i];
      if (!strcmp(a, "--model")) dir = v;
      else if (!strcmp(a, "--precision")) precision = v;
      else if (cli_parse_int("rerank", a, v, 1, 1024, &threads)) return EXIT_USAGE;
    } else if (a[0] == '-' && a[1]) {
      return cli_usage_error("rerank", usage_text, "unknown option '%s'", a);
    } else {
      break;
    }
  }
  dir = cli_env_default(dir, "AULARAG_RERANK");
  if (!dir) return cli_usage_error("rerank", usage_text, "no model: pass --model DIR or set AULARAG_RERANK");
  if (i >= argc) return cli_usage_error("rerank", usage_text, "no question given");
  ar_model_params mp = ar_model_default_params();
  mp.n_threads = threads;
  if (cli_precision("rerank", usage_text, precision, &mp)) return EXIT_USAGE;
  char *q = cli_join_args(argc, argv, i);
  ar_model *m = NULL;
  ar_error err = {0};
  if (!q) { fprintf(stderr, "aularag: out of memory\n"); return EXIT_RUNTIME; }
  if (ar_model_load(dir, mp, &m, &err) != AR_OK) { free(q); return cli_fail(&err) == EXIT_USAGE ? EXIT_USAGE : EXIT_RUNTIME; }
  /* all lines in one call: one forward batch, as --rerank scores a search's hits */
  char **lines = NULL, *line = NULL;
  size_t n = 0, cap = 0, lcap = 0;
  ssize_t len;
  int rc = EXIT_OK;
  while ((len = getline(&line, &lcap, stdin)) >= 0) {
    if (len && line[len - 1] == '\n') line[--len] = 0;
    if (len && line[len - 1] == '\r') line[--len] = 0;
    if (n == cap) {
      char **nl = realloc(lines, (cap = cap ? 2 * cap : 64) * sizeof *lines);
      if (!nl) { rc = EXIT_RUNTIME; break; }
      lines = nl;
    }
    if (!(lines[n] = strdup(line))) { rc = EXIT_RUNTIME; break; }
    n++;
  }
  int nl = ar_model_num_labels(m);
  float *out = rc ? NULL : malloc((n + 1) * (size_t)(nl ? nl : 1) * sizeof(float));
  if (!out && !rc) rc = EXIT_RUNTIME;
  if (rc) fprintf(stderr, "aularag: out of memory\n");
  else if (ar_model_score_pairs(m, q, (const char *const *)lines, (int)n, out, &err) != AR_OK) rc = cli_fail(&err);
  for (size_t j = 0; !rc && j < n; j++) {
    const float *l = out + j * (size_t)nl;
    if (!logits) { printf("%.9g\n", ar_rerank_score(m, l)); continue; }
    for (int c = 0; c < nl; c++) printf(c ? ",%.9g" : "[%.9g", l[c]);
    fputs("]\n", stdout);
  }
  if (fflush(stdout) && !rc) rc = EXIT_RUNTIME;
  for (size_t j = 0; j < n; j++) free(lines[j]);
  free(lines); free(line); free(out); free(q);
  ar_model_free(m);
  return rc;
}
