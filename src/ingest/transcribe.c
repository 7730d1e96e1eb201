/* transcribe.c - ar_transcribe: media files -> NAME.whisper.json. Per file: probe, extract 16 kHz audio
 * and its silences, plan chunks at silences, send each to the speech server (jobs in flight across
 * files), shift its segments by the chunk's offset, journal it, and write the transcript atomically
 * once every chunk is in. */
#include "asr/asr.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define NOISE_DB (-35.0)     /* silencedetect: quieter than this is silence */
#define MIN_SILENCE_S 0.3    /* a pause between words is shorter; one between sentences is not */
#define JOURNAL_TAG "aularag-asr-journal 1"

ar_transcribe_params ar_transcribe_default_params(void) {
  ar_transcribe_params p;
  memset(&p, 0, sizeof p);
  p.jobs = 1;
  p.max_chunk_s = 600;
  p.max_upload_mb = 24;
  p.connect_timeout_ms = 10000;
  p.timeout_ms = 900000;
  p.max_retries = 4;
  p.retry_base_ms = 1000;
  p.retry_max_ms = 60000;
  return p;
}

void ar_transcribe_params_from_env(ar_transcribe_params *p) {
  if (!p->asr_url) p->asr_url = ar_env("AULARAG_ASR_URL");
  if (!p->asr_model) p->asr_model = ar_env("AULARAG_ASR_MODEL");
  if (!p->api_key) p->api_key = ar_env("AULARAG_ASR_API_KEY");
}

typedef struct chunk {
  int64_t s0, s1;        /* samples [s0, s1) of the file's audio */
  int state;             /* 0 to send, 1 in flight, 2 done */
  ar_asr_segs segs;      /* times in the file's timeline once done */
} chunk;

/* a chunk finished in an earlier run, read back from the journal */
typedef struct jentry { int64_t s0, s1; ar_asr_segs segs; int used; } jentry;

enum { F_TODO, F_PREPARING, F_READY, F_FINAL, F_DONE };

typedef struct file {
  char *path, *out, *journal;
  double probe_s;
  int state, failed;
  ar_error err;
  chunk *ch;
  int n_ch, n_done, in_flight;
  int16_t *pcm;          /* mmap of the extracted audio (its file already unlinked) */
  size_t pcm_bytes;
  ar_span *sil;
  int n_sil;
  FILE *jf;
  jentry *je;
  int n_je;
} file;

typedef struct run {
  const ar_transcribe_params *p;
  ar_asr_client *cli;
  file *f;
  int n, cap, next_file;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int64_t done_ms, total_ms;
  ar_transcribe_stats *s;
  ar_status first_st, fatal;
  ar_error first_err, fatal_err;
} run;

/* ---- the list of files ---- */
static ar_status add_file(run *r, const char *path, ar_error *err) {
  if (r->n == r->cap) {
    int nc = r->cap ? r->cap * 2 : 16;
    file *nv = ar_realloc(r->f, (size_t)nc * sizeof *nv);
    if (!nv) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
    r->f = nv;
    r->cap = nc;
  }
  file *f = &r->f[r->n];
  memset(f, 0, sizeof *f);
  size_t k = ar_transcript_path_for(path, NULL, 0) + 1;
  f->path = ar_strdup(path);
  f->out = ar_malloc(k);
  f->journal = ar_malloc(k + 3);
  if (!f->path || !f->out || !f->journal) {
    ar_free(f->path); ar_free(f->out); ar_free(f->journal);
    return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  ar_transcript_path_for(path, f->out, k);
  memcpy(f->journal, f->out, k);
  strcpy(f->journal + k - 5, "journal");   /* NAME.whisper.json -> NAME.whisper.journal */
  r->n++;
  return AR_OK;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Media files under dir, recursively, in sorted order; hidden entries skipped (as ingest does). */
static ar_status walk(run *r, const char *dir, int depth, ar_error *err) {
  if (depth > 64) return ar_fail(err, AR_ERR_IO, "%s: folders nested too deep (a symlink loop?)", dir);
  DIR *d = opendir(dir);
  if (!d) return ar_fail(err, AR_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  ar_status st = AR_OK;
  struct dirent *e;
  while ((e = readdir(d)) && !st) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **nn = ar_realloc(names, cap * sizeof *nn);
      if (!nn) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
      names = nn;
    }
    if (!(names[n] = ar_strdup(e->d_name))) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    else n++;
  }
  closedir(d);
  if (!st && n) qsort(names, n, sizeof *names, cmp_str);
  ar_buf p = {0};
  for (size_t i = 0; i < n && !st; i++) {
    p.n = 0;
    ar_buf_printf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
    if (p.oom) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
    struct stat sb;
    if (stat(p.p, &sb) != 0) continue;
    if (S_ISDIR(sb.st_mode)) st = walk(r, p.p, depth + 1, err);
    else if (S_ISREG(sb.st_mode) && ar_is_media_name(names[i])) st = add_file(r, p.p, err);
  }
  ar_buf_free(&p);
  for (size_t i = 0; i < n; i++) ar_free(names[i]);
  ar_free(names);
  return st;
}

/* ---- failures and progress (called with r->mu held) ---- */
static void file_fail(run *r, file *f, const ar_error *e) {
  if (f->failed) return;
  f->failed = 1;
  f->err = *e;
  if (!r->first_st) { r->first_st = e->status; r->first_err = *e; }
  if (r->p->warn) r->p->warn(e, r->p->user_data);
}

static void warn(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(run *r, const char *fmt, ...) {
  if (!r->p->warn) return;
  ar_error e = {AR_OK, ""};
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(e.msg, sizeof e.msg, fmt, ap);
  va_end(ap);
  r->p->warn(&e, r->p->user_data);
}

static void progress(run *r, const char *path) {
  if (!r->p->progress || r->fatal) return;
  ar_progress pr = {"transcribe", path, r->done_ms, AR_MAX(r->total_ms, r->done_ms)};
  if (r->p->progress(&pr, r->p->user_data)) {
    r->fatal = AR_ERR_ABORTED;
    ar_fail(&r->fatal_err, AR_ERR_ABORTED, "transcription stopped by the caller");
  }
}

static int64_t ms_of(int64_t samples) { return samples * 1000 / AR_ASR_RATE; }

/* "1:02:03.4" or "2:03.4", for messages about a place in a recording */
static void clock_str(double s, char out[24]) {
  int h = (int)(s / 3600), m = (int)(s / 60) % 60;
  double sec = s - 60.0 * (int)(s / 60);
  if (h) snprintf(out, 24, "%d:%02d:%04.1f", h, m, sec);
  else snprintf(out, 24, "%d:%04.1f", m, sec);
}

/* ---- the journal: one header line, then one line per finished chunk ---- */
static char *journal_header(run *r, const struct stat *sb) {
  json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s}", "journal", JOURNAL_TAG, "size", (json_int_t)sb->st_size,
                        "mtime_s", (json_int_t)sb->st_mtim.tv_sec, "mtime_ns", (json_int_t)sb->st_mtim.tv_nsec,
                        "model", r->p->asr_model ? r->p->asr_model : "", "language",
                        r->p->language ? r->p->language : "");
  char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  return s;
}

static void jentries_free(file *f) {
  for (int i = 0; i < f->n_je; i++) ar_asr_segs_free(&f->je[i].segs);
  ar_free(f->je);
  f->je = NULL;
  f->n_je = 0;
}

/* Loads the chunks an earlier run finished, if its journal belongs to this very file and settings.
 * A torn last line (a crash mid-write) is ignored. Then opens the journal for appending. */
static ar_status journal_open(run *r, file *f, ar_error *err) {
  struct stat sb;
  if (stat(f->path, &sb)) return ar_fail(err, AR_ERR_IO, "%s: %s", f->path, strerror(errno));
  char *hdr = journal_header(r, &sb);
  if (!hdr) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  char *data = NULL;
  size_t len = 0;
  int keep = 0;
  if (ar_read_file(f->journal, &data, &len, NULL) == AR_OK) {
    char *nl = strchr(data, '\n');
    keep = nl && (size_t)(nl - data) == strlen(hdr) && !memcmp(data, hdr, strlen(hdr));
    for (char *line = nl ? nl + 1 : NULL; keep && line && *line;) {
      char *e = strchr(line, '\n');
      if (!e) break;   /* torn */
      json_t *o = json_loadb(line, (size_t)(e - line), 0, NULL), *segs = json_object_get(o, "segments");
      json_t *a = json_object_get(o, "s0"), *b = json_object_get(o, "s1");
      if (json_is_integer(a) && json_is_integer(b) && json_is_array(segs)) {
        jentry *nv = ar_realloc(f->je, (size_t)(f->n_je + 1) * sizeof *nv);
        if (!nv) { json_decref(o); break; }
        f->je = nv;
        jentry *j = &f->je[f->n_je++];
        memset(j, 0, sizeof *j);
        j->s0 = json_integer_value(a);
        j->s1 = json_integer_value(b);
        size_t i;
        json_t *s;
        json_array_foreach(segs, i, s) {
          json_t *t = json_array_get(s, 2);
          if (json_is_string(t))
            ar_asr_segs_add(&j->segs, json_number_value(json_array_get(s, 0)), json_number_value(json_array_get(s, 1)),
                            json_string_value(t), json_string_length(t));
        }
      }
      json_decref(o);
      line = e + 1;
    }
  }
  ar_free(data);
  if (!keep) jentries_free(f);
  f->jf = fopen(f->journal, keep ? "a" : "w");
  ar_status st = AR_OK;
  if (!f->jf) st = ar_fail(err, AR_ERR_IO, "%s: cannot write the journal: %s", f->journal, strerror(errno));
  else if (!keep && (fprintf(f->jf, "%s\n", hdr) < 0 || fflush(f->jf)))
    st = ar_fail(err, AR_ERR_IO, "%s: cannot write the journal: %s", f->journal, strerror(errno));
  free(hdr);
  return st;
}

/* Appends a finished chunk (with r->mu held). fsync: a crash right after still finds it. */
static void journal_add(run *r, file *f, int64_t s0, int64_t s1, const ar_asr_segs *segs) {
  json_t *arr = json_array();
  for (int i = 0; arr && i < segs->n; i++)
    json_array_append_new(arr, json_pack("[f, f, s]", segs->v[i].start, segs->v[i].end, segs->v[i].text));
  json_t *o = arr ? json_pack("{s:I, s:I, s:o}", "s0", (json_int_t)s0, "s1", (json_int_t)s1, "segments", arr) : NULL;
  char *line = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
  json_decref(o);
  if (!line || fprintf(f->jf, "%s\n", line) < 0 || fflush(f->jf) || fsync(fileno(f->jf)))
    warn(r, "%s: could not journal a finished chunk (a rerun sends it again)", f->journal);
  free(line);
}

/* Chunk [s0, s1) is done when journal entries tile it exactly (a chunk once split after a 413 is
 * several entries). Moves their segments into c. */
static int take_from_journal(file *f, chunk *c) {
  int64_t pos = c->s0;
  int used[64], n_used = 0;
  while (pos < c->s1 && n_used < 64) {
    int k = -1;
    for (int i = 0; i < f->n_je; i++)
      if (!f->je[i].used && f->je[i].s0 == pos && f->je[i].s1 <= c->s1 && f->je[i].s1 > pos) { k = i; break; }
    if (k < 0) return 0;
    used[n_used++] = k;
    pos = f->je[k].s1;
  }
  if (pos != c->s1) return 0;
  for (int u = 0; u < n_used; u++) {
    jentry *j = &f->je[used[u]];
    j->used = 1;
    for (int i = 0; i < j->segs.n; i++) {
      if (ar_asr_segs_add(&c->segs, j->segs.v[i].start, j->segs.v[i].end, j->segs.v[i].text, strlen(j->segs.v[i].text))) {
        ar_asr_segs_free(&c->segs);
        return 0;
      }
    }
  }
  return 1;
}

/* ---- preparing a file: journal, audio, silences, chunks ---- */
static double max_chunk_s(const ar_transcribe_params *p) {
  double by_bytes = (p->max_upload_mb * 1e6 - AR_ASR_WAV_HEADER) / (2.0 * AR_ASR_RATE);
  return AR_MIN(p->max_chunk_s, by_bytes);
}

static int64_t to_samples(double s) { return (int64_t)llround(s * AR_ASR_RATE); }

static ar_status prepare(run *r, file *f, int index, int *hard, ar_error *err) {
  ar_status st = journal_open(r, f, err);
  if (st) return st;
  char pcm[512];
  const char *tmp = ar_env("TMPDIR");
  snprintf(pcm, sizeof pcm, "%s/aularag-asr-%ld-%d.pcm", tmp ? tmp : "/tmp", (long)getpid(), index);
  const char *ffmpeg = r->p->ffmpeg ? r->p->ffmpeg : "ffmpeg";
  st = ar_media_extract(ffmpeg, f->path, pcm, NOISE_DB, MIN_SILENCE_S, &f->sil, &f->n_sil, err);
  int fd = st ? -1 : open(pcm, O_RDONLY | O_CLOEXEC);
  unlink(pcm);   /* the mapping keeps the audio; a crash leaves nothing in TMPDIR */
  if (st) return st;
  if (fd < 0) return ar_fail(err, AR_ERR_IO, "%s: cannot read the extracted audio: %s", pcm, strerror(errno));
  struct stat sb;
  fstat(fd, &sb);
  f->pcm_bytes = (size_t)sb.st_size & ~(size_t)1;
  if (f->pcm_bytes) {
    void *m = mmap(NULL, f->pcm_bytes, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) { close(fd); return ar_fail(err, AR_ERR_IO, "%s: cannot map the extracted audio", f->path); }
    f->pcm = m;
  }
  close(fd);
  int64_t total = (int64_t)(f->pcm_bytes / 2);
  if (!total) return AR_OK;   /* an empty audio track: an empty transcript */
  ar_span *plan = NULL;
  int n = ar_asr_plan_chunks((double)total / AR_ASR_RATE, f->sil, f->n_sil, max_chunk_s(r->p), &plan, hard);
  if (n < 0) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  f->ch = ar_calloc((size_t)n, sizeof *f->ch);
  if (!f->ch) { ar_free(plan); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  int64_t pos = 0;
  for (int i = 0; i < n; i++) {   /* in samples; a cut that rounds onto the previous one makes no chunk */
    int64_t end = i == n - 1 ? total : AR_MIN(to_samples(plan[i].end), total);
    if (end > pos) f->ch[f->n_ch++] = (chunk){.s0 = pos, .s1 = end};
    pos = AR_MAX(pos, end);
  }
  ar_free(plan);
  return AR_OK;
}

/* ---- one chunk ---- */
/* Sends samples [s0, s1); a 413 cuts the range in two at a silence and sends the halves. Segments
 * come back in the file's timeline; each piece that succeeds is journalled. */
static ar_status send_range(run *r, file *f, int64_t s0, int64_t s1, int depth, ar_asr_segs *out, ar_error *err) {
  size_t nb = (size_t)(s1 - s0) * 2;
  unsigned char *wav = ar_malloc(AR_ASR_WAV_HEADER + nb);
  if (!wav) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  ar_wav_header(wav, (uint32_t)nb);
  memcpy(wav + AR_ASR_WAV_HEADER, (const char *)f->pcm + s0 * 2, nb);
  /* the name tells a server's log which part of which recording this is */
  const char *base = strrchr(f->path, '/');
  base = base ? base + 1 : f->path;
  const char *dot = strrchr(base, '.');
  char name[300];
  snprintf(name, sizeof name, "%.*s_%lld-%lldms.wav", (int)(dot && dot > base ? dot - base : (long)strlen(base)), base,
           (long long)ms_of(s0), (long long)ms_of(s1));
  double off = (double)s0 / AR_ASR_RATE, dur = (double)(s1 - s0) / AR_ASR_RATE;
  ar_asr_segs segs;
  int too_large = 0, no_segs = 0;
  ar_error e = {AR_OK, ""};
  ar_status st = ar_asr_transcribe(r->cli, wav, AR_ASR_WAV_HEADER + nb, name, dur, &segs, &too_large, &no_segs, &e);
  ar_free(wav);
  char a[24], b[24];
  clock_str(off, a);
  clock_str(off + dur, b);
  if (st && too_large && dur >= 2 && depth < 16) {
    /* the server's limit is below ours: two parts, cut at the silent moment nearest the middle (within
     * the middle 70%, 0.1 s clear of the words), else at the middle; a part still too large is cut again */
    double cut = dur / 2, best = -1;
    for (int i = 0; i < f->n_sil; i++) {
      double m = AR_MIN(0.1, (f->sil[i].end - f->sil[i].start) / 4);
      double lo = AR_MAX(f->sil[i].start - off + m, dur * 0.15), hi = AR_MIN(f->sil[i].end - off - m, dur * 0.85);
      if (lo > hi) continue;
      double t = dur / 2 < lo ? lo : dur / 2 > hi ? hi : dur / 2;
      if (best < 0 || fabs(t - dur / 2) < fabs(best - dur / 2)) best = t;
    }
    if (best >= 0) cut = best;
    int64_t mid = s0 + to_samples(cut);
    pthread_mutex_lock(&r->mu);
    warn(r, "%s: audio %s-%s: the server refused %zu bytes as too large (HTTP 413); sending it in two parts", f->path,
         a, b, nb + AR_ASR_WAV_HEADER);
    pthread_mutex_unlock(&r->mu);
    st = AR_OK;
    memset(out, 0, sizeof *out);
    int64_t bounds[3] = {s0, mid, s1};
    for (int i = 0; i < 2 && !st; i++) {
      ar_asr_segs part;
      if (!(st = send_range(r, f, bounds[i], bounds[i + 1], depth + 1, &part, err))) {
        for (int k = 0; !st && k < part.n; k++)
          if (ar_asr_segs_add(out, part.v[k].start, part.v[k].end, part.v[k].text, strlen(part.v[k].text)))
            st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
        ar_asr_segs_free(&part);
      }
    }
    if (st) ar_asr_segs_free(out);
    return st;
  }
  if (st) return ar_fail(err, st, "%s: audio %s-%s: %s", f->path, a, b, e.msg);
  for (int i = 0; i < segs.n; i++) { segs.v[i].start += off; segs.v[i].end += off; }
  pthread_mutex_lock(&r->mu);
  if (no_segs)
    warn(r, "%s: audio %s-%s: the server's reply has no \"segments\" (does it support response_format="
         "verbose_json?); its text is timed as the whole chunk", f->path, a, b);
  journal_add(r, f, s0, s1, &segs);
  r->s->chunks_sent++;
  pthread_mutex_unlock(&r->mu);
  *out = segs;
  return AR_OK;
}

/* ---- finishing a file ---- */
static ar_status write_transcript(run *r, file *f, int *n_segs, ar_error *err) {
  json_t *segs = json_array(), *o = json_object();
  ar_buf text = {0};
  int id = 0;
  for (int c = 0; segs && c < f->n_ch; c++)
    for (int i = 0; i < f->ch[c].segs.n; i++) {
      const ar_asr_seg *s = &f->ch[c].segs.v[i];
      /* times rounded to the millisecond: the transcript stays readable, nothing audible changes */
      json_array_append_new(segs, json_pack("{s:i, s:f, s:f, s:s}", "id", id++, "start", round(s->start * 1000) / 1000,
                                            "end", round(s->end * 1000) / 1000, "text", s->text));
      if (text.n) ar_buf_puts(&text, " ");
      ar_buf_puts(&text, s->text);
    }
  if (o && r->p->language) json_object_set_new(o, "language", json_string(r->p->language));
  if (o) json_object_set_new(o, "duration", json_real(round((double)f->pcm_bytes / 2 / AR_ASR_RATE * 1000) / 1000));
  /* "segments" before the long "text": ingest recognises Whisper JSON by its first few KB */
  if (o && segs) json_object_set(o, "segments", segs);
  if (o) json_object_set_new(o, "text", json_string(text.p ? text.p : ""));
  char *s = o && !text.oom ? json_dumps(o, JSON_INDENT(1) | JSON_REAL_PRECISION(10)) : NULL;
  json_decref(segs);
  json_decref(o);
  ar_buf_free(&text);
  if (!s) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  ar_status st = ar_write_file_atomic(f->out, s, strlen(s), err);
  free(s);
  *n_segs = id;
  return st;
}

static void file_release(file *f) {
  if (f->pcm) munmap(f->pcm, f->pcm_bytes);
  f->pcm = NULL;
  if (f->jf) fclose(f->jf);
  f->jf = NULL;
  for (int i = 0; i < f->n_ch; i++) ar_asr_segs_free(&f->ch[i].segs);
  ar_free(f->ch);
  f->ch = NULL;
  f->n_ch = 0;
  ar_free(f->sil);
  f->sil = NULL;
  jentries_free(f);
}

/* With r->mu held: a file whose chunks are all in (or that failed, nothing in flight) is finished. */
static void maybe_finish(run *r, file *f) {
  if (f->state != F_READY || f->in_flight) return;
  if (!f->failed && f->n_done < f->n_ch) return;
  f->state = F_FINAL;
  if (!f->failed) {
    ar_error e = {AR_OK, ""};
    int n_segs = 0;
    pthread_mutex_unlock(&r->mu);
    ar_status st = write_transcript(r, f, &n_segs, &e);
    if (!st) unlink(f->journal);   /* only now: every chunk is in the transcript */
    pthread_mutex_lock(&r->mu);
    if (st) file_fail(r, f, &e);
    else { r->s->files_ok++; r->s->segments += n_segs; }
  }
  if (f->failed) r->s->files_failed++;
  file_release(f);
  f->state = F_DONE;
  pthread_cond_broadcast(&r->cv);
}

/* ---- the workers: take a chunk of a ready file, else prepare the next file, else wait ---- */
static void *worker(void *arg) {
  run *r = arg;
  pthread_mutex_lock(&r->mu);
  while (!r->fatal) {
    file *f = NULL;
    int c = -1;
    for (int i = 0; i < r->n && c < 0; i++) {
      if (r->f[i].state != F_READY || r->f[i].failed) continue;
      for (int k = 0; k < r->f[i].n_ch; k++)
        if (r->f[i].ch[k].state == 0) { f = &r->f[i]; c = k; break; }
    }
    if (c >= 0) {
      f->ch[c].state = 1;
      f->in_flight++;
      pthread_mutex_unlock(&r->mu);
      ar_error e = {AR_OK, ""};
      ar_asr_segs segs;
      ar_status st = send_range(r, f, f->ch[c].s0, f->ch[c].s1, 0, &segs, &e);
      pthread_mutex_lock(&r->mu);
      f->in_flight--;
      if (st) {
        if (st == AR_ERR_NOMEM && !r->fatal) { r->fatal = st; r->fatal_err = e; }
        file_fail(r, f, &e);
      } else {
        f->ch[c].segs = segs;
        f->ch[c].state = 2;
        f->n_done++;
        r->done_ms += ms_of(f->ch[c].s1 - f->ch[c].s0);
        progress(r, f->path);
      }
      maybe_finish(r, f);
      continue;
    }
    int i = r->next_file;
    while (i < r->n && r->f[i].state != F_TODO) i++;
    if (i < r->n) {
      r->next_file = i + 1;
      f = &r->f[i];
      f->state = F_PREPARING;
      pthread_mutex_unlock(&r->mu);
      ar_error e = {AR_OK, ""};
      int hard = 0;
      ar_status st = prepare(r, f, i, &hard, &e);
      pthread_mutex_lock(&r->mu);
      f->state = F_READY;
      if (st == AR_ERR_NOTFOUND || st == AR_ERR_NOMEM) {   /* no ffmpeg: no file can be done */
        if (!r->fatal) { r->fatal = st; r->fatal_err = e; }
      }
      if (st) file_fail(r, f, &e);
      else {
        int64_t audio = ms_of((int64_t)(f->pcm_bytes / 2));
        r->total_ms += audio - (int64_t)(f->probe_s * 1000);
        r->s->audio_s += (double)audio / 1000;
        if (hard) warn(r, "%s: %d chunk cut(s) fell outside a silence (no pause long enough near the limit)", f->path,
                       hard);
        for (int k = 0; k < f->n_ch; k++)
          if (take_from_journal(f, &f->ch[k])) {
            f->ch[k].state = 2;
            f->n_done++;
            r->s->chunks_resumed++;
            r->done_ms += ms_of(f->ch[k].s1 - f->ch[k].s0);
          }
        jentries_free(f);
        progress(r, f->path);
      }
      maybe_finish(r, f);
      pthread_cond_broadcast(&r->cv);
      continue;
    }
    int busy = 0;
    for (int k = 0; k < r->n && !busy; k++) busy = r->f[k].state == F_PREPARING || r->f[k].state == F_FINAL ||
                                                 (r->f[k].state == F_READY && r->f[k].in_flight);
    if (!busy) break;
    pthread_cond_wait(&r->cv, &r->mu);
  }
  pthread_cond_broadcast(&r->cv);
  pthread_mutex_unlock(&r->mu);
  return NULL;
}

ar_status ar_transcribe(const char *const *paths, int n_paths, const ar_transcribe_params *params,
                        ar_transcribe_stats *stats, ar_error *err) {
  ar_transcribe_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  ar_transcribe_params d = ar_transcribe_default_params();
  const ar_transcribe_params *p = params ? params : &d;
  if (p->jobs < 1 || !(p->max_chunk_s >= 1) || !(max_chunk_s(p) >= 1))
    return ar_fail(err, AR_ERR_INVALID, "transcribe: jobs must be >= 1 and a chunk at least 1 s (max_upload_mb >= 0.04)");
  double t0 = ar_now_s();
  run r;
  memset(&r, 0, sizeof r);
  r.p = p;
  r.s = stats;
  ar_status st = ar_asr_open(p, &r.cli, err);
  if (st) return st;
  pthread_mutex_init(&r.mu, NULL);
  pthread_cond_init(&r.cv, NULL);
  /* 1. the files: named ones always, folders for media names; already transcribed ones skipped */
  for (int i = 0; i < n_paths && !st; i++) {
    struct stat sb;
    if (stat(paths[i], &sb) == 0 && S_ISDIR(sb.st_mode)) st = walk(&r, paths[i], 0, err);
    else st = add_file(&r, paths[i], err);
  }
  const char *ffprobe = p->ffprobe ? p->ffprobe : "ffprobe";
  for (int i = 0; i < r.n && !st; i++) {
    file *f = &r.f[i];
    ar_error e = {AR_OK, ""};
    for (int j = 0; j < i; j++)
      if (!strcmp(r.f[j].out, f->out)) {   /* lecture.mp4 and lecture.m4a: one transcript name */
        ar_fail(&e, AR_ERR_INVALID, "%s: %s would write %s too; rename one of them", f->path, r.f[j].path, f->out);
        e.status = AR_ERR_IO;
        break;
      }
    if (e.status) { file_fail(&r, f, &e); stats->files_failed++; f->state = F_DONE; continue; }
    if (!p->force && access(f->out, F_OK) == 0) { stats->files_skipped++; f->state = F_DONE; continue; }
    ar_status ps = ar_media_probe(ffprobe, f->path, &f->probe_s, &e);
    if (ps == AR_ERR_NOTFOUND || ps == AR_ERR_NOMEM) { st = ar_fail(err, ps, "%s", e.msg); break; }
    if (ps) { file_fail(&r, f, &e); stats->files_failed++; f->state = F_DONE; continue; }
    r.total_ms += (int64_t)(f->probe_s * 1000);
  }
  /* 2. workers: jobs chunks in flight */
  if (!st) {
    int nt = p->jobs, started = 0;
    pthread_t *th = nt > 1 ? ar_malloc((size_t)(nt - 1) * sizeof *th) : NULL;
    for (int i = 0; th && i < nt - 1; i++, started++)
      if (pthread_create(&th[i], NULL, worker, &r)) break;
    worker(&r);
    for (int i = 0; i < started; i++) pthread_join(th[i], NULL);
    ar_free(th);
    pthread_mutex_lock(&r.mu);
    if (!r.fatal && r.p->progress) progress(&r, NULL);
    pthread_mutex_unlock(&r.mu);
    if (r.fatal) st = ar_fail(err, r.fatal, "%s", r.fatal_err.msg);
    else if (r.first_st) {
      st = r.first_st == AR_ERR_INVALID ? AR_ERR_IO : r.first_st;
      ar_fail(err, st, "%d of %d files could not be transcribed (the first: %s)", stats->files_failed, r.n,
              r.first_err.msg);
    }
  }
  for (int i = 0; i < r.n; i++) {
    file_release(&r.f[i]);
    ar_free(r.f[i].path);
    ar_free(r.f[i].out);
    ar_free(r.f[i].journal);
  }
  ar_free(r.f);
  ar_asr_close(r.cli);
  pthread_mutex_destroy(&r.mu);
  pthread_cond_destroy(&r.cv);
  stats->seconds = ar_now_s() - t0;
  return st;
}
