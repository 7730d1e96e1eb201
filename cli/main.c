/* main.c - the aularag command: dispatches to one verb per file (cli/cmd_*.c). */
#include "cli.h"
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const struct verb {
  const char *name;
  int (*fn)(int, char **);
  const char *summary;
} verbs[] = {
  {"ingest", cmd_ingest, "add transcripts (.vtt .srt .json) to an index"},
  {"search", cmd_search, "retrieve the segments that match a question"},
  {"ask", cmd_ask, "answer a question from the lectures, with video references"},
  {"eval", cmd_eval, "run a question set and write the evaluation report"},
  {"serve", cmd_serve, "HTTP API and web page for students"},
  {"annotate", cmd_annotate, "page to label an eval run's answers by hand"},
  {"report", cmd_report, "re-render an eval run's reports with the manual labels"},
  {"embed", cmd_embed, "E5 embeddings of stdin lines (one JSON array each)"},
  {"tokenize", cmd_tokenize, "token ids of stdin lines (one JSON array each)"},
  {"info", cmd_info, "what an index holds"},
  {"snapshot", cmd_snapshot, "a consistent, checked copy of an index for serve replicas"},
  {"model", cmd_model, "pull an encoder from the Hugging Face Hub; list the cached ones"},
  {"transcribe", cmd_transcribe, "media files -> NAME.whisper.json through a speech server"},
  {"rerank", cmd_rerank, "cross-encoder scores of (question, stdin line) pairs"},
};

static void usage(FILE *f) {
  fprintf(f, "aularag %s - ask the lectures\n\nusage: aularag <verb> [options]\n\nverbs:\n", AR_VERSION);
  for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
    fprintf(f, "  %-9s %s\n", verbs[i].name, verbs[i].summary);
  fprintf(f, "\n'aularag <verb> --help' shows a verb's options.\n"
             "Environment: AULARAG_INDEX AULARAG_MODEL AULARAG_LLM_URL AULARAG_LLM_MODEL AULARAG_LLM_API_KEY\n");
}

int main(int argc, char **argv) {
  ar_blas_single_thread();  /* the encoder's pool owns the cores (see aularag.h) */
  if (argc < 2) { usage(stderr); return EXIT_USAGE; }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(stdout);
    return EXIT_OK;
  }
  if (!strcmp(argv[1], "--version")) { printf("aularag %s\n", AR_VERSION); return EXIT_OK; }
  for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
    if (!strcmp(argv[1], verbs[i].name)) return verbs[i].fn(argc - 1, argv + 1);
  fprintf(stderr, "aularag: unknown verb '%s'\n\n", argv[1]);
  usage(stderr);
  return EXIT_USAGE;
}

int cli_exit_code(ar_status s) {
  return s == AR_OK ? EXIT_OK : s == AR_ERR_INVALID ? EXIT_USAGE : EXIT_RUNTIME;
}

int cli_fail(const ar_error *err) {
  fprintf(stderr, "aularag: %s\n", err->msg[0] ? err->msg : ar_strerror(err->status));
  return cli_exit_code(err->status);
}

int cli_usage_error(const char *verb, const char *usage_text, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "aularag %s: ", verb);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n%s", usage_text);
  return EXIT_USAGE;
}

int cli_parse_int(const char *verb, const char *opt, const char *s, int lo, int hi, int *out) {
  char *end;
  errno = 0;
  long v = s ? strtol(s, &end, 10) : 0;
  if (!s || !*s || *end || errno || v < lo || v > hi) {
    fprintf(stderr, "aularag %s: %s expects an integer in [%d, %d], got '%s'\n", verb, opt, lo, hi,
            s ? s : "");
    return -1;
  }
  *out = (int)v;
  return 0;
}

int cli_parse_double(const char *verb, const char *opt, const char *s, double lo, double hi, double *out) {
  char *end;
  errno = 0;
  double v = s ? strtod(s, &end) : 0;
  if (!s || !*s || *end || errno || !(v >= lo && v <= hi)) {
    fprintf(stderr, "aularag %s: %s expects a number in [%g, %g], got '%s'\n", verb, opt, lo, hi,
            s ? s : "");
    return -1;
  }
  *out = v;
  return 0;
}

char *cli_join_args(int argc, char **argv, int from) {
  size_t n = 1;
  for (int i = from; i < argc; i++) n += strlen(argv[i]) + 1;
  char *q = malloc(n);
  if (!q) return NULL;
  q[0] = 0;
  for (int i = from; i < argc; i++) { if (i > from) strcat(q, " "); strcat(q, argv[i]); }
  return q;
}

int cli_precision(const char *verb, const char *usage, const char *value, ar_model_params *mp) {
  const char *v = cli_env_default(value, "AULARAG_PRECISION");
  if (!v) return 0;
  int p = ar_precision_parse(v);
  if (p < 0) {
    cli_usage_error(verb, usage, "%s must be fp32 or int8, not '%s'", value ? "--precision" : "AULARAG_PRECISION", v);
    return -1;
  }
  mp->precision = (ar_precision)p;
  return 0;
}

const char *cli_env_default(const char *value, const char *env_name) {
  if (value) return value;
  const char *e = getenv(env_name);
  return e && *e ? e : NULL;
}
