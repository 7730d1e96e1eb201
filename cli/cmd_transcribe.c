/* cmd_transcribe.c - `aularag transcribe`: media files -> NAME.whisper.json through a speech server;
 * also the step `ingest --transcribe` runs first (cli_transcribe). */
#include "cli.h"
#include "core/util.h"
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *usage =
  "usage: aularag transcribe [--asr-url URL] [--asr-model NAME] [--lang CODE] [-j N]\n"
  "                          [--max-chunk SEC] [--max-upload MB] [--force] [--quiet] PATH...\n"
  "  --asr-url URL        OpenAI-compatible speech server (POST /v1/audio/transcriptions: whisper.cpp's\n"
  "                       server, speaches, vLLM, OpenAI); default $AULARAG_ASR_URL, key $AULARAG_ASR_API_KEY\n"
  "  --asr-model NAME     model name sent to it (default $AULARAG_ASR_MODEL, else whisper-1)\n"
  "  --lang CODE          spoken language, ISO 639-1 (pt, en, ...); default: the server detects it\n"
  "  -j, --jobs N         chunks in flight at once, across files (default 1)\n"
  "  --max-chunk SEC      longest chunk sent (default 600); chunks are cut at silences\n"
  "  --max-upload MB      largest upload in MB (default 24); a 413 reply cuts a chunk smaller\n"
  "  --force              transcribe again files that already have NAME.whisper.json\n"
  "  -q, --quiet          no progress or warnings on stderr\n"
  "  PATH                 media files (mp4 mkv webm mov mp3 m4a wav ogg ...) or folders searched recursively\n"
  "Writes NAME.whisper.json beside each file (ingest reads it). Needs ffmpeg. Finished chunks are kept in\n"
  "NAME.whisper.journal, so a rerun after an interruption sends only the rest. A file that fails is\n"
  "reported and the others go on (exit 1 at the end).\n";

struct ui { int tty, quiet, last_len, started; double t0, last_print; int64_t base; };

static void clock_fmt(int64_t ms, char out[24]) {
  int64_t s = ms / 1000;
  if (s >= 3600) snprintf(out, 24, "%d:%02d:%02d", (int)(s / 3600), (int)(s / 60 % 60), (int)(s % 60));
  else snprintf(out, 24, "%d:%02d", (int)(s / 60), (int)(s % 60));
}

/* A bar over audio time with speed and ETA on a TTY; elsewhere a plain line every few seconds (as
 * ingest's embedding progress). Audio resumed from a journal counts as done but not in the speed. */
static int on_progress(const ar_progress *p, void *ud) {
  struct ui *u = ud;
  if (u->quiet) return 0;
  double now = ar_now_s();
  if (!u->started) { u->started = 1; u->t0 = now; u->base = p->done; u->last_print = 0; }
  double el = now - u->t0, rate = el > 0 ? (double)(p->done - u->base) / 1000 / el : 0;
  double eta = rate > 0 ? (double)(p->total - p->done) / 1000 / rate : 0;
  int finished = !p->file;
  char done[24], total[24];
  clock_fmt(p->done, done);
  clock_fmt(p->total, total);
  if (u->tty) {
    if (now - u->last_print < 0.1 && !finished) return 0;
    char bar[31];
    int w = p->total ? (int)(30 * p->done / p->total) : 30;
    for (int i = 0; i < 30; i++) bar[i] = i < w ? '#' : '.';
    bar[30] = 0;
    int n = fprintf(stderr, "\rtranscribe [%s] %s/%s audio  %.1fx realtime  ETA %d:%02d", bar, done, total, rate,
                    (int)eta / 60, (int)eta % 60);
    if (n < u->last_len) fprintf(stderr, "%*s", u->last_len - n, "");
    u->last_len = n;
    if (finished) { fputc('\n', stderr); u->last_len = 0; }
  } else {
    if (now - u->last_print < 5 && !finished && p->done) return 0;
    fprintf(stderr, "transcribe: %s/%s of audio, %.1fx realtime, ETA %.0f s\n", done, total, rate, eta);
  }
  u->last_print = now;
  fflush(stderr);
  return 0;
}

static void on_warn(const ar_error *e, void *ud) {
  struct ui *u = ud;
  if (u->tty && u->last_len) { fprintf(stderr, "\r%*s\r", u->last_len, ""); u->last_len = 0; }
  if (e->status == AR_OK) { if (!u->quiet) fprintf(stderr, "aularag: warning: %s\n", e->msg); }
  else fprintf(stderr, "aularag: %s\n", e->msg);
}

int cli_transcribe(ar_transcribe_params *tp, const char *const *paths, int n, int quiet) {
  struct ui u = {isatty(2), quiet, 0, 0, 0, 0, 0};
  tp->progress = on_progress;
  tp->warn = on_warn;
  tp->user_data = &u;
  ar_transcribe_stats s;
  ar_error err = {0};
  ar_status st = ar_transcribe(paths, n, tp, &s, &err);
  if (st && (st == AR_ERR_NOTFOUND || st == AR_ERR_INVALID || st == AR_ERR_ABORTED || st == AR_ERR_NOMEM))
    return cli_fail(&err);
  char audio[24];
  clock_fmt((int64_t)(s.audio_s * 1000), audio);
  printf("transcribed %d files (%d already done, %d failed): %s of audio, %d chunks sent, %d resumed, %d segments "
         "in %.1f s\n", s.files_ok, s.files_skipped, s.files_failed, audio, s.chunks_sent, s.chunks_resumed, s.segments,
         s.seconds);
  fflush(stdout);
  /* the files that failed were named as they failed; the summary line says how many */
  return st ? EXIT_RUNTIME : EXIT_OK;
}

int cmd_transcribe(int argc, char **argv) {
  enum { O_URL = 1, O_MODEL, O_LANG, O_CHUNK, O_UPLOAD, O_FORCE };
  static const struct option opts[] = {
    {"asr-url", required_argument, 0, O_URL}, {"asr-model", required_argument, 0, O_MODEL},
    {"lang", required_argument, 0, O_LANG}, {"jobs", required_argument, 0, 'j'},
    {"max-chunk", required_argument, 0, O_CHUNK}, {"max-upload", required_argument, 0, O_UPLOAD},
    {"force", no_argument, 0, O_FORCE}, {"quiet", no_argument, 0, 'q'}, {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0}};
  ar_transcribe_params tp = ar_transcribe_default_params();
  int quiet = 0, c;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":j:qh", opts, NULL)) != -1) {
    switch (c) {
    case O_URL: tp.asr_url = optarg; break;
    case O_MODEL: tp.asr_model = optarg; break;
    case O_LANG: tp.language = optarg; break;
    case 'j': if (cli_parse_int("transcribe", "--jobs", optarg, 1, 64, &tp.jobs)) return EXIT_USAGE; break;
    case O_CHUNK:
      if (cli_parse_double("transcribe", "--max-chunk", optarg, 1, 86400, &tp.max_chunk_s)) return EXIT_USAGE;
      break;
    case O_UPLOAD:
      if (cli_parse_double("transcribe", "--max-upload", optarg, 0.05, 4096, &tp.max_upload_mb)) return EXIT_USAGE;
      break;
    case O_FORCE: tp.force = 1; break;
    case 'q': quiet = 1; break;
    case 'h': fputs(usage, stdout); return EXIT_OK;
    case ':': return cli_usage_error("transcribe", usage, "option '%s' needs a value", argv[optind - 1]);
    default:
      if (optopt) return cli_usage_error("transcribe", usage, "unknown option '-%c'", optopt);
      return cli_usage_error("transcribe", usage, "unknown option '%s'", argv[optind - 1]);
    }
  }
  ar_transcribe_params_from_env(&tp);
  if (!tp.asr_url) return cli_usage_error("transcribe", usage, "no speech server: give --asr-url or set AULARAG_ASR_URL");
  if (optind >= argc) return cli_usage_error("transcribe", usage, "no media files or folders given");
  return cli_transcribe(&tp, (const char *const *)argv + optind, argc - optind, quiet);
}

/* ingest --transcribe: each named media file becomes its NAME.whisper.json when that exists (else it
 * is dropped: its failure was reported); folders stay (ingest finds the transcripts in them). */
int cli_ingest_transcripts(int argc, char **argv, int from) {
  static char **kept;   /* the new names live until exit (a global root, not a leak) */
  int n = from;
  kept = calloc((size_t)argc + 1, sizeof *kept);
  if (!kept) return -1;
  for (int i = from; i < argc; i++) {
    struct stat sb;
    if (!ar_is_media_name(argv[i]) || stat(argv[i], &sb) || !S_ISREG(sb.st_mode)) { argv[n++] = argv[i]; continue; }
    size_t k = ar_transcript_path_for(argv[i], NULL, 0) + 1;
    if (!(kept[i] = malloc(k))) return -1;
    ar_transcript_path_for(argv[i], kept[i], k);
    if (access(kept[i], F_OK) == 0) argv[n++] = kept[i];
  }
  return n;
}
