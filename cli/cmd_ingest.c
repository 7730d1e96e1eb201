/* cmd_ingest.c - `aularag ingest`: transcripts (files/folders, optional manifest) -> index. */
#include "cli.h"
#include "core/util.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *usage =
  "usage: aularag ingest -i INDEX [--manifest FILE] [--lang pt|en] [--model DIR | --embed-url URL --embed-model NAME]\n"
  "                      [--precision P] [--query-prefix S] [--passage-prefix S]\n"
  "                      [--window SEC] [--overlap SEC] [--max-words N] [--quiet] PATH...\n"
  "  -i, --index FILE     the index (created when missing; default $AULARAG_INDEX)\n"
  "  --manifest FILE      CSV file,video_id,title,url (files relative to it); without PATHs,\n"
  "                       every file it lists is ingested\n"
  "  --lang pt|en         analysis language of a NEW index (default pt; fixed afterwards)\n"
  "  --model DIR          also embed segments with this E5 model (default $AULARAG_MODEL)\n"
  CLI_EMBED_USAGE
  CLI_PRECISION_HELP
  CLI_PROMPT_USAGE
  "  --window SEC         segment length (default 120)\n"
  "  --overlap SEC        overlap between consecutive segments (default 30)\n"
  "  --max-words N        hard cap on words per segment (default 350; with --model the cap is\n"
  "                       the model's token limit instead, so no segment is truncated; with\n"
  "                       --embed-url it stays in words: keep it under the server's input limit)\n"
  "  -q, --quiet          no progress or warnings on stderr\n"
  "  --transcribe         first transcribe the media files in PATHs (as `aularag transcribe`, with\n"
  "                       --lang as the spoken language) and ingest their NAME.whisper.json\n"
  "  --asr-url URL, --asr-model NAME   the speech server (default $AULARAG_ASR_URL, $AULARAG_ASR_MODEL)\n"
  "  PATH                 .vtt .srt .json files, or folders searched recursively\n"
  "Re-ingesting a video replaces it atomically; an unchanged one keeps its corpus ids.\n"
  "A bad transcript is reported (FILE:LINE) and skipped; the others go on (exit 1 at the end).\n";

struct ui { int tty, quiet, last_len; double t0, last_print; };

/* Embedding: a bar with rate and ETA on a TTY; elsewhere a plain line every few seconds. */
static void embed_progress(const ar_progress *p, struct ui *u) {
  double now = ar_now_s();
  if (p->done == 0) { u->t0 = now; u->last_print = 0; }
  double el = now - u->t0, rate = el > 0 ? (double)p->done / el : 0;
  double eta = rate > 0 ? (double)(p->total - p->done) / rate : 0;
  int finished = p->done >= p->total;
  if (u->tty) {
    if (now - u->last_print < 0.1 && !finished) return;
    char bar[31];
    int w = p->total ? (int)(30 * p->done / p->total) : 30;
    for (int i = 0; i < 30; i++) bar[i] = i < w ? '#' : '.';
    bar[30] = 0;
    int n = fprintf(stderr, "\rembed [%s] %lld/%lld segments  %.1f seg/s  ETA %d:%02d", bar, (long long)p->done,
                    (long long)p->total, rate, (int)eta / 60, (int)eta % 60);
    if (n < u->last_len) fprintf(stderr, "%*s", u->last_len - n, "");
    u->last_len = n;
    if (finished) { fputc('\n', stderr); u->last_len = 0; }
  } else {
    if (now - u->last_print < 5 && !finished && p->done) return;
    fprintf(stderr, "embed: %lld/%lld segments, %.1f seg/s, ETA %.0f s\n", (long long)p->done,
            (long long)p->total, rate, eta);
  }
  u->last_print = now;
  fflush(stderr);
}

static int on_progress(const ar_progress *p, void *ud) {
  struct ui *u = ud;
  if (u->quiet) return 0;
  if (p->stage && !strcmp(p->stage, "embed")) { embed_progress(p, u); return 0; }
  if (!u->tty || u->quiet) return 0;
  if (!p->file) { fprintf(stderr, "\r%*s\r", u->last_len, ""); u->last_len = 0; return 0; }
  const char *base = strrchr(p->file, '/');
  base = base ? base + 1 : p->file;
  int n = fprintf(stderr, "\r[%lld/%lld] %s: %.60s", (long long)p->done + 1, (long long)p->total, p->stage, base);
  if (n < u->last_len) fprintf(stderr, "%*s", u->last_len - n, "");
  u->last_len = n;
  fflush(stderr);
  return 0;
}

static void on_warn(const ar_error *e, void *ud) {
  struct ui *u = ud;
  if (u->tty && u->last_len) { fprintf(stderr, "\r%*s\r", u->last_len, ""); u->last_len = 0; }
  if (e->status == AR_OK) { if (!u->quiet) fprintf(stderr, "aularag: warning: %s\n", e->msg); }
  else fprintf(stderr, "aularag: %s\n", e->msg);
}

int cmd_ingest(int argc, char **argv) {
  static const struct option opts[] = {
    {"index", required_argument, 0, 'i'}, {"manifest", required_argument, 0, 'm'},
    {"lang", required_argument, 0, 'l'}, {"model", required_argument, 0, 'M'},
    {"window", required_argument, 0, 'w'}, {"overlap", required_argument, 0, 'o'},
    {"max-words", required_argument, 0, 'x'}, {"quiet", no_argument, 0, 'q'},
    {"precision", required_argument, 0, CLI_O_PRECISION}, {"help", no_argument, 0, 'h'}, CLI_EMBED_LONGOPTS,
    {"transcribe", no_argument, 0, 'T'}, {"asr-url", required_argument, 0, 'U'}, {"asr-model", required_argument, 0, 'N'},
    CLI_PROMPT_LONGOPTS, {0, 0, 0, 0}};
  cli_embed ce = {0};
  cli_models cm = {0};
  const char *index = NULL, *lang = NULL, *model = NULL, *precision = NULL;
  ar_ingest_params p = ar_ingest_default_params();
  struct ui u = {isatty(2), 0, 0, 0, 0};
  ar_transcribe_params tp = ar_transcribe_default_params();
  int c, transcribe = 0;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":i:qh", opts, NULL)) != -1) {
    int e = cli_embed_opt(&ce, "ingest", c, optarg);
    if (!e) e = cli_models_opt(&cm, "ingest", c, optarg);
    if (e) { if (e < 0) return EXIT_USAGE; continue; }
    switch (c) {
    case 'i': index = optarg; break;
    case 'm': p.manifest = optarg; break;
    case 'l':
      if (strcmp(optarg, "pt") && strcmp(optarg, "en"))
        return cli_usage_error("ingest", usage, "--lang expects pt or en, got '%s'", optarg);
      lang = optarg;
      break;
    case 'M': model = optarg; break;
    case CLI_O_PRECISION: precision = optarg; break;
    case 'w': if (cli_parse_double("ingest", "--window", optarg, 1, 86400, &p.seg.window_s)) return EXIT_USAGE; break;
    case 'o': if (cli_parse_double("ingest", "--overlap", optarg, 0, 86400, &p.seg.overlap_s)) return EXIT_USAGE; break;
    case 'x': if (cli_parse_int("ingest", "--max-words", optarg, 8, 100000, &p.seg.max_units)) return EXIT_USAGE; break;
    case 'q': u.quiet = 1; break;
    case 'T': transcribe = 1; break;
    case 'U': tp.asr_url = optarg; break;
    case 'N': tp.asr_model = optarg; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("ingest", usage, "option '%s' needs a value", argv[optind - 1]);
    default:
      if (optopt) return cli_usage_error("ingest", usage, "unknown option '-%c'", optopt);
      return cli_usage_error("ingest", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  index = cli_env_default(index, "AULARAG_INDEX");
  if (cli_embed_resolve(&ce, "ingest", usage, &model)) return EXIT_USAGE;
  ar_model_params mp = ar_model_default_params();
  if (cli_precision("ingest", usage, precision, &mp)) return EXIT_USAGE;
  if (!index) return cli_usage_error("ingest", usage, "no index: give -i INDEX or set AULARAG_INDEX");
  if (optind >= argc && !p.manifest) return cli_usage_error("ingest", usage, "no transcripts given");
  if (p.seg.overlap_s >= p.seg.window_s)
    return cli_usage_error("ingest", usage, "--overlap (%g) must be smaller than --window (%g)", p.seg.overlap_s,
                           p.seg.window_s);
  int trc = 0;   /* --transcribe: media -> NAME.whisper.json first; a file that fails is left out (exit 1) */
  if (transcribe) {
    ar_transcribe_params_from_env(&tp);
    tp.language = lang;
    if (!tp.asr_url) return cli_usage_error("ingest", usage, "--transcribe needs --asr-url or AULARAG_ASR_URL");
    if ((trc = cli_transcribe(&tp, (const char *const *)argv + optind, argc - optind, u.quiet)) == EXIT_USAGE) return trc;
    if ((argc = cli_ingest_transcripts(argc, argv, optind)) < 0) { fputs("aularag: out of memory\n", stderr); return EXIT_RUNTIME; }
  }
  ar_error err = {0};
  ar_index *ix = NULL;
  ar_index_params ip = ar_index_default_params();
  ip.lang = lang;
  if (model) {  /* with a model, segments are capped at its token limit and embedded */
    if (ar_model_load(model, mp, &p.model, &err) != AR_OK) return cli_fail(&err);
    int prc = cli_models_prefixes(&cm, p.model);
    if (prc) { ar_model_free(p.model); return prc; }
  }
  /* A server: segments capped by words, embedded remotely. For a new index it is opened first, so a dead
   * endpoint leaves no empty file behind; an existing one may already know the dimension. */
  const int fresh = access(index, F_OK) != 0;
  int rc = fresh ? cli_embed_open(&ce, NULL, &p.embedder) : 0;
  if (rc) { ar_model_free(p.model); return rc; }
  if (ar_index_open(index, ip, &ix, &err) != AR_OK) {
    ar_model_free(p.model);
    cli_embed_close(&ce);
    return cli_fail(&err);
  }
  if (!fresh && (rc = cli_embed_open(&ce, ix, &p.embedder))) { ar_index_close(ix); return rc; }
  if (p.embedder) p.embed_batch = ce.group;        /* one commit per round of requests in flight */
  p.progress = on_progress;
  p.warn = on_warn;
  p.user_data = &u;
  ar_ingest_stats s;
  ar_status st = ar_ingest(ix, (const char *const *)argv + optind, argc - optind, &p, &s, &err);
  ar_index_close(ix);
  ar_model_free(p.model);
  cli_embed_close(&ce);
  if (st != AR_OK && st != AR_ERR_PARSE) return cli_fail(&err);
  printf("ingested %d transcripts (%d unchanged, %d empty, %d failed): %lld cues -> %lld segments in %.2f s\n",
         s.files_ok + s.files_unchanged, s.files_unchanged, s.files_empty, s.files_failed, (long long)s.cues,
         (long long)s.segments, s.seconds);
  if (model || p.embedder) printf("embedded %lld segments\n", (long long)s.embedded);
  if (st == AR_ERR_PARSE) return cli_fail(&err);
  return trc ? EXIT_RUNTIME : EXIT_OK;
}
