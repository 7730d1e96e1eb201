/* cmd_model.c - `aularag model pull|list`: fetch an encoder from a Hugging Face Hub endpoint into the Hub
 * cache, and show what the cache holds (src/hub/). */
#include "cli.h"
#include "core/util.h"
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage_text =
  "usage: aularag model pull ORG/NAME [--revision REV] [--retries N] [-q]\n"
  "       aularag model list [--json]\n"
  "\n"
  "pull: downloads what the encoder needs (config.json, model.safetensors, tokenizer.json and/or\n"
  "      sentencepiece.bpe.model, and the sentence-transformers files the repository has) into the Hugging\n"
  "      Face cache, resumably; large files are checked against the SHA-256 the Hub reports. Afterwards\n"
  "      --model ORG/NAME works in every verb, without network.\n"
  "  --revision REV       branch, tag or commit (default main); use it later as --model ORG/NAME@REV\n"
  "  --retries N          tries again after a cut connection or a 429/5xx, resuming (default 5)\n"
  "  -q, --quiet          no progress bar\n"
  "list: the models in the cache (repo id, commit of main, size, folder).\n"
  "  --json               one JSON object per line\n"
  "Environment: HF_ENDPOINT (default https://huggingface.co), HF_TOKEN (gated or private models),\n"
  "HF_HOME / HF_HUB_CACHE (the cache, default ~/.cache/huggingface/hub).\n";

struct bar { int tty, quiet, last_len, finished; double t0, last_print; char file[256]; };

static void human(double bytes, char out[32]) {
  if (bytes >= 1e9) snprintf(out, 32, "%.2f GB", bytes / 1e9);
  else if (bytes >= 1e6) snprintf(out, 32, "%.1f MB", bytes / 1e6);
  else if (bytes >= 1e3) snprintf(out, 32, "%.1f kB", bytes / 1e3);
  else snprintf(out, 32, "%.0f B", bytes);
}

/* One line per file: a bar with bytes, rate and ETA on a TTY (redrawn), a line every few seconds elsewhere. */
static int on_progress(const ar_progress *p, void *ud) {
  struct bar *b = ud;
  if (b->quiet || !p->file) return 0;
  double now = ar_now_s();
  if (strcmp(b->file, p->file)) {
    snprintf(b->file, sizeof b->file, "%s", p->file);
    b->t0 = now;
    b->last_print = 0;
    b->last_len = 0;
    b->finished = 0;
  }
  int finished = p->total >= 0 && p->done >= p->total;
  if (b->finished) return 0;   /* one final line per file */
  b->finished = finished;
  if (!finished && now - b->last_print < (b->tty ? 0.1 : 5)) return 0;
  double el = now - b->t0, rate = el > 0.05 ? (double)p->done / el : 0;
  double eta = rate > 0 && p->total > 0 ? (double)(p->total - p->done) / rate : 0;
  char done[32], total[32], speed[32];
  human((double)p->done, done);
  human((double)p->total, total);
  human(rate, speed);
  if (b->tty) {
    char bar[31];
    int w = p->total > 0 ? (int)(30 * (double)p->done / (double)p->total) : 0;
    for (int i = 0; i < 30; i++) bar[i] = i < w ? '#' : '.';
    bar[30] = 0;
    int n = fprintf(stderr, "\r%-28.28s [%s] %s / %s  %s/s  ETA %d:%02d", p->file, bar, done,
                    p->total >= 0 ? total : "?", speed, (int)eta / 60, (int)eta % 60);
    if (n < b->last_len) fprintf(stderr, "%*s", b->last_len - n, "");
    b->last_len = n;
    if (finished) fputc('\n', stderr);
  } else {
    fprintf(stderr, "%s: %s / %s%s\n", p->file, done, p->total >= 0 ? total : "?", finished ? " done" : "");
  }
  b->last_print = now;
  fflush(stderr);
  return 0;
}

static int pull(int argc, char **argv) {
  const char *repo = NULL, *rev = NULL;
  int quiet = 0, retries = -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(usage_text, stdout); return EXIT_OK; }
    else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) quiet = 1;
    else if (!strcmp(a, "--revision")) {
      if (i + 1 >= argc) return cli_usage_error("model pull", usage_text, "--revision needs a value");
      rev = argv[++i];
    } else if (!strcmp(a, "--retries")) {
      if (cli_parse_int("model pull", a, i + 1 < argc ? argv[++i] : NULL, 0, 100, &retries)) return EXIT_USAGE;
    } else if (!strncmp(a, "--revision=", 11)) rev = a + 11;
    else if (a[0] == '-') return cli_usage_error("model pull", usage_text, "unknown option '%s'", a);
    else if (repo) return cli_usage_error("model pull", usage_text, "unexpected argument '%s'", a);
    else repo = a;
  }
  if (!repo) return cli_usage_error("model pull", usage_text, "which model? e.g. aularag model pull intfloat/multilingual-e5-small");
  /* ORG/NAME@REV is what --model takes: accept it here too */
  char *copy = NULL;
  const char *at = strchr(repo, '@');
  if (at) {
    if (rev) return cli_usage_error("model pull", usage_text, "give the revision once: '%s' and --revision %s", repo, rev);
    copy = strndup(repo, (size_t)(at - repo));
    rev = at + 1;
    repo = copy;
  }
  ar_hub_params p = ar_hub_default_params();
  ar_hub_params_from_env(&p);
  p.revision = rev;
  if (retries >= 0) p.max_retries = retries;
  struct bar b = {.tty = isatty(2), .quiet = quiet};
  p.progress = on_progress;
  p.user_data = &b;
  ar_error err = {0};
  char *snap = NULL;
  ar_status s = ar_hub_pull(repo, &p, &snap, &err);
  if (b.tty && b.last_len && s) fputc('\n', stderr);
  if (s) { free(copy); return cli_fail(&err); }
  printf("%s\n", snap);
  if (!quiet)
    fprintf(stderr, "pulled %s%s%s: use --model %s%s%s (or AULARAG_MODEL)\n", repo, rev ? "@" : "", rev ? rev : "",
            repo, rev ? "@" : "", rev ? rev : "");
  free(snap);
  free(copy);
  return EXIT_OK;
}

static int list(int argc, char **argv) {
  int json = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) { fputs(usage_text, stdout); return EXIT_OK; }
    if (!strcmp(argv[i], "--json")) json = 1;
    else return cli_usage_error("model list", usage_text, "unknown argument '%s'", argv[i]);
  }
  ar_hub_cached *v;
  size_t n;
  ar_error err = {0};
  if (ar_hub_list(NULL, &v, &n, &err)) return cli_fail(&err);
  char *cache = ar_hub_cache_dir();
  if (!json) printf("cache: %s\n", cache ? cache : "(none)");
  for (size_t i = 0; i < n; i++) {
    char size[32];
    human((double)v[i].bytes, size);
    if (json) {
      json_t *o = json_pack("{s:s, s:o, s:i, s:I, s:s}", "repo_id", v[i].repo_id, "main",
                            v[i].main_commit ? json_string(v[i].main_commit) : json_null(), "snapshots",
                            v[i].n_snapshots, "bytes", (json_int_t)v[i].bytes, "path", v[i].path);
      char *js = o ? json_dumps(o, JSON_COMPACT) : NULL;
      if (js) puts(js);
      free(js);
      json_decref(o);
    }
    else
      printf("%-48s %-12.12s %10s  %s\n", v[i].repo_id, v[i].main_commit ? v[i].main_commit : "(no main)", size,
             v[i].path);
  }
  free(cache);
  ar_hub_cached_free(v, n);
  return EXIT_OK;
}

int cmd_model(int argc, char **argv) {
  if (argc < 2) return cli_usage_error("model", usage_text, "pull or list?");
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) { fputs(usage_text, stdout); return EXIT_OK; }
  if (!strcmp(argv[1], "pull")) return pull(argc - 1, argv + 1);
  if (!strcmp(argv[1], "list")) return list(argc - 1, argv + 1);
  return cli_usage_error("model", usage_text, "unknown subcommand '%s' (pull or list)", argv[1]);
}
