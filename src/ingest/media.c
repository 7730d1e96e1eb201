/* media.c - ffprobe/ffmpeg as child processes (an argument vector, never a shell): probe a file,
 * extract 16 kHz mono audio with its silences (silencedetect), and plan chunks cut at silences. */
#include "asr/asr.h"
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

enum { MAX_CHILD_OUTPUT = 64 << 20 };   /* a runaway child's log is cut, not buffered without end */

static void drain(int *fd, ar_buf *b) {
  char tmp[16384];
  ssize_t k = read(*fd, tmp, sizeof tmp);
  if (k > 0) {
    if (b && b->n < MAX_CHILD_OUTPUT) ar_buf_append(b, tmp, (size_t)k);
  } else if (k == 0 || (errno != EINTR && errno != EAGAIN)) {
    close(*fd);
    *fd = -1;
  }
}

ar_status ar_child_run(const char *const *argv, ar_buf *out, ar_buf *errout, int *exit_status, ar_error *err) {
  int po[2], pe[2];
  if (pipe2(po, O_CLOEXEC)) return ar_fail(err, AR_ERR_IO, "%s: cannot make a pipe: %s", argv[0], strerror(errno));
  if (pipe2(pe, O_CLOEXEC)) {
    close(po[0]); close(po[1]);
    return ar_fail(err, AR_ERR_IO, "%s: cannot make a pipe: %s", argv[0], strerror(errno));
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);   /* ffmpeg must not read our stdin */
  posix_spawn_file_actions_adddup2(&fa, po[1], 1);
  posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
  pid_t pid;
  int rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  close(po[1]);
  close(pe[1]);
  if (rc) {
    close(po[0]); close(pe[0]);
    if (rc == ENOENT) return ar_fail(err, AR_ERR_NOTFOUND, "%s not found on PATH (Debian: apt install ffmpeg)", argv[0]);
    return ar_fail(err, AR_ERR_IO, "cannot start %s: %s", argv[0], strerror(rc));
  }
  int fds[2] = {po[0], pe[0]};
  ar_buf *bufs[2] = {out, errout};
  while (fds[0] >= 0 || fds[1] >= 0) {   /* both pipes at once: a child blocked on a full one never ends */
    struct pollfd pf[2] = {{fds[0], POLLIN, 0}, {fds[1], POLLIN, 0}};
    if (poll(pf, 2, -1) < 0) { if (errno == EINTR) continue; break; }
    for (int i = 0; i < 2; i++)
      if (fds[i] >= 0 && pf[i].revents) drain(&fds[i], bufs[i]);
  }
  for (int i = 0; i < 2; i++) if (fds[i] >= 0) close(fds[i]);
  int ws = 0;
  while (waitpid(pid, &ws, 0) < 0 && errno == EINTR) {}
  *exit_status = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + (WIFSIGNALED(ws) ? WTERMSIG(ws) : 0);
  if ((out && out->oom) || (errout && errout->oom)) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  return AR_OK;
}

/* The child's last non-empty stderr line, without the "file:PATH: " it starts with, for messages. */
static void last_line(const ar_buf *b, const char *prefix, char out[200]) {
  out[0] = 0;
  if (!b->n) return;
  size_t e = b->n;
  while (e && (b->p[e - 1] == '\n' || b->p[e - 1] == '\r' || b->p[e - 1] == ' ')) e--;
  size_t s = e;
  while (s && b->p[s - 1] != '\n' && b->p[s - 1] != '\r') s--;
  size_t pl = strlen(prefix);
  if (e - s > pl + 2 && !strncmp(b->p + s, prefix, pl) && !strncmp(b->p + s + pl, ": ", 2)) s += pl + 2;
  size_t k = ar_utf8_clip(b->p + s, AR_MIN(e - s, (size_t)190));
  snprintf(out, 200, "%.*s", (int)k, b->p + s);
}

/* "file:" + path: a name that starts with '-' or holds ':' is still a plain file to ffmpeg */
static char *file_url(const char *path) {
  size_t n = strlen(path) + 6;
  char *u = ar_malloc(n);
  if (u) snprintf(u, n, "file:%s", path);
  return u;
}

ar_status ar_media_probe(const char *ffprobe, const char *path, double *duration_s, ar_error *err) {
  *duration_s = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ar_fail(err, AR_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
  close(fd);
  char *url = file_url(path);
  if (!url) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  const char *argv[] = {ffprobe, "-v", "error", "-show_entries", "format=duration:stream=codec_type", "-of", "json",
                        url, NULL};
  ar_buf out = {0}, eb = {0};
  int xs = 0;
  ar_status st = ar_child_run(argv, &out, &eb, &xs, err);
  json_t *o = NULL;
  if (!st && xs) {
    char why[200];
    last_line(&eb, url, why);
    st = ar_fail(err, AR_ERR_PARSE, "%s: not a media file ffprobe can read (%s)", path, why[0] ? why : "no message");
  } else if (!st && !(o = json_loadb(out.p ? out.p : "", out.n, 0, NULL))) {
    st = ar_fail(err, AR_ERR_PARSE, "%s: ffprobe's report is not JSON", path);
  } else if (!st) {
    int audio = 0;
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(o, "streams"), i, s) {
      json_t *t = json_object_get(s, "codec_type");
      if (json_is_string(t) && !strcmp(json_string_value(t), "audio")) audio = 1;
    }
    json_t *d = json_object_get(json_object_get(o, "format"), "duration");
    if (json_is_string(d)) *duration_s = atof(json_string_value(d));
    if (!(*duration_s >= 0 && *duration_s < 1e7)) *duration_s = 0;
    if (!audio) st = ar_fail(err, AR_ERR_PARSE, "%s: no audio track (nothing to transcribe)", path);
  }
  json_decref(o);
  ar_buf_free(&out);
  ar_buf_free(&eb);
  ar_free(url);
  return st;
}

int ar_media_parse_silences(const char *log, double duration, ar_span **out) {
  *out = NULL;
  int n = 0, cap = 0, open = 0;
  ar_span *v = NULL;
  for (const char *p = log; p && *p;) {
    const char *a = strstr(p, "silence_start: "), *b = strstr(p, "silence_end: ");
    if (!a && !b) break;
    int is_start = a && (!b || a < b);
    const char *num = is_start ? a + 15 : b + 13;
    char *end;
    double t = strtod(num, &end);
    p = end > num ? end : num;
    if (end == num || !(t > -1e9 && t < 1e9)) continue;
    if (t < 0) t = 0;   /* silencedetect can start a silence a few samples before 0 */
    if (is_start) {
      if (n == cap) {
        cap = cap ? cap * 2 : 32;
        ar_span *nv = ar_realloc(v, (size_t)cap * sizeof *nv);
        if (!nv) { ar_free(v); return -1; }
        v = nv;
      }
      v[n++] = (ar_span){t, duration};
      open = 1;
    } else if (open) {
      v[n - 1].end = AR_MAX(t, v[n - 1].start);
      open = 0;
    }
  }
  *out = v;
  return n;
}

ar_status ar_media_extract(const char *ffmpeg, const char *path, const char *pcm_path, double noise_db,
                           double min_silence_s, ar_span **sil, int *n_sil, ar_error *err) {
  *sil = NULL;
  *n_sil = 0;
  char filter[96], rate[16];
  snprintf(filter, sizeof filter, "silencedetect=noise=%gdB:d=%g", noise_db, min_silence_s);
  snprintf(rate, sizeof rate, "%d", AR_ASR_RATE);
  char *in = file_url(path), *out = file_url(pcm_path);
  if (!in || !out) { ar_free(in); ar_free(out); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  const char *argv[] = {ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "info", "-y", "-i", in,
                        "-map", "0:a:0", "-vn", "-sn", "-dn", "-af", filter, "-ac", "1", "-ar", rate,
                        "-c:a", "pcm_s16le", "-f", "s16le", out, NULL};
  ar_buf eb = {0};
  int xs = 0;
  ar_status st = ar_child_run(argv, NULL, &eb, &xs, err);
  if (!st && xs) {
    char why[200];
    last_line(&eb, in, why);
    st = ar_fail(err, AR_ERR_PARSE, "%s: ffmpeg could not extract its audio (exit %d: %s)", path, xs,
                 why[0] ? why : "no message");
  }
  if (!st) {
    struct stat sb;
    double dur = stat(pcm_path, &sb) == 0 ? (double)sb.st_size / (2.0 * AR_ASR_RATE) : 0;
    int n = ar_media_parse_silences(eb.p, dur, sil);
    if (n < 0) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    else *n_sil = n;
  }
  ar_buf_free(&eb);
  ar_free(in);
  ar_free(out);
  return st;
}

int ar_asr_plan_chunks(double duration, const ar_span *sil, int n_sil, double max_s, ar_span **out, int *hard) {
  *out = NULL;
  *hard = 0;
  if (!(duration > 0) || !(max_s > 0)) return 0;
  int cap = (int)AR_MIN(duration / max_s * 2 + 2, 1e7), n = 0;
  ar_span *v = ar_malloc((size_t)cap * sizeof *v);
  if (!v) return -1;
  double pos = 0;
  while (duration - pos > max_s && n < cap - 1) {
    double lo = pos + max_s / 2, limit = pos + max_s, cut = -1;
    for (int i = 0; i < n_sil; i++) {
      double a = AR_MAX(sil[i].start, lo), b = AR_MIN(sil[i].end, limit);
      if (b <= a) continue;   /* not inside the second half of this chunk's span */
      /* the silence's middle (most margin from both words), kept inside the allowed part */
      double m = (sil[i].start + sil[i].end) / 2;
      m = m < a ? a : m > b ? b : m;
      if (m > cut) cut = m;
    }
    if (cut < 0) { cut = limit; (*hard)++; }
    v[n++] = (ar_span){pos, cut};
    pos = cut;
  }
  v[n++] = (ar_span){pos, duration};
  *out = v;
  return n;
}

int ar_is_media_name(const char *path) {
  static const char *const ext[] = {"mp4", "m4v", "mkv", "webm", "mov", "avi", "wmv", "flv", "mpg", "mpeg", "ts",
                                    "mts", "m2ts", "3gp", "ogv", "mp3", "m4a", "aac", "wav", "flac", "ogg", "oga",
                                    "opus", "wma", "mka"};
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  const char *dot = strrchr(base, '.');
  if (!dot || dot == base) return 0;
  for (size_t i = 0; i < AR_ARRAY_LEN(ext); i++)
    if (!strcasecmp(dot + 1, ext[i])) return 1;
  return 0;
}

size_t ar_transcript_path_for(const char *media, char *out, size_t cap) {
  const char *base = strrchr(media, '/');
  base = base ? base + 1 : media;
  const char *dot = strrchr(base, '.');
  size_t n = dot && dot > base ? (size_t)(dot - media) : strlen(media);
  int k = snprintf(out, cap, "%.*s.whisper.json", (int)n, media);
  return k < 0 ? 0 : (size_t)k;
}
