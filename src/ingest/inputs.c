/* inputs.c - step 1 of ingest: the files and folders named (and the manifest) -> the list of
 * transcripts to ingest, each with the video id it becomes. Nothing is written here. */
#include "ingest/ingest.h"
#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>

void ar_ingest_inputs_free(ar_ingest_inputs *in) {
  for (size_t i = 0; i < in->n; i++) { ar_free(in->v[i].path); ar_free(in->v[i].video_id); }
  ar_free(in->v);
}

static ar_status inputs_add(ar_ingest_inputs *in, const char *path, ar_error *err) {
  if (in->n == in->cap) {
    size_t nc = in->cap ? in->cap * 2 : 64;
    ar_ingest_input *nv = ar_realloc(in->v, nc * sizeof *nv);
    if (!nv) return ar_fail(err, AR_ERR_NOMEM, "out of memory listing inputs");
    in->v = nv;
    in->cap = nc;
  }
  ar_ingest_input *x = &in->v[in->n];
  memset(x, 0, sizeof *x);
  if (!(x->path = ar_strdup(path))) return ar_fail(err, AR_ERR_NOMEM, "out of memory listing inputs");
  in->n++;
  return AR_OK;
}

static int is_transcript_name(const char *name) {
  const char *dot = strrchr(name, '.');
  return dot && (!strcasecmp(dot, ".vtt") || !strcasecmp(dot, ".srt") || !strcasecmp(dot, ".json"));
}

/* A .json met while walking a folder is a transcript only if it looks like one (a YouTube array
 * or a Whisper object with "segments"); course folders hold other JSON (3Blue1Brown's title.json),
 * which is skipped rather than reported as a broken transcript. Named files are always tried. */
static int looks_like_transcript_json(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) return 1;  /* let the parser report it */
  char buf[4096];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  size_t i = 0;
  if (n >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3)) i = 3;
  while (i < n && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' || buf[i] == '\n')) i++;
  return i < n && (buf[i] == '[' || strstr(buf + i, "\"segments\"") != NULL);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Recursive walk in sorted order (the corpus ids then do not depend on readdir order). Hidden
 * entries are skipped. */
static ar_status walk(const char *dir, ar_ingest_inputs *in, int depth, ar_error *err) {
  if (depth > 64) return ar_fail(err, AR_ERR_IO, "%s: folders nested too deep (a symlink loop?)", dir);
  DIR *d = opendir(dir);
  if (!d) return ar_fail(err, AR_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
  char **names = NULL;
  size_t n = 0, cap = 0;
  ar_status st = AR_OK;
  struct dirent *e;
  while ((e = readdir(d))) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap = cap ? cap * 2 : 32;
      char **nn = ar_realloc(names, cap * sizeof *nn);
      if (!nn) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
      names = nn;
    }
    if (!(names[n] = ar_strdup(e->d_name))) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
    n++;
  }
  closedir(d);
  if (!st && n) qsort(names, n, sizeof *names, cmp_str);
  ar_buf p = {0};
  for (size_t i = 0; i < n && !st; i++) {
    p.n = 0;
    ar_buf_printf(&p, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/", names[i]);
    if (p.oom) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
    struct stat sb;
    if (stat(p.p, &sb) != 0) continue;  /* dangling symlink */
    if (S_ISDIR(sb.st_mode)) st = walk(p.p, in, depth + 1, err);
    else if (S_ISREG(sb.st_mode) && is_transcript_name(names[i])) {
      const char *dot = strrchr(names[i], '.');
      if (strcasecmp(dot, ".json") || looks_like_transcript_json(p.p)) st = inputs_add(in, p.p, err);
    }
  }
  ar_buf_free(&p);
  for (size_t i = 0; i < n; i++) ar_free(names[i]);
  ar_free(names);
  return st;
}

/* file name without folder and extension */
static char *stem_of(const char *path, int with_parent) {
  const char *base = strrchr(path, '/');
  base = base ? base + 1 : path;
  if (with_parent && base > path + 1) {
    const char *pp = base - 2;
    while (pp > path && *pp != '/') pp--;
    if (*pp == '/') pp++;
    base = pp;
  }
  const char *dot = strrchr(base, '.');
  size_t n = dot && dot > base ? (size_t)(dot - base) : strlen(base);
  /* `transcribe` writes NAME.whisper.json beside NAME.mp4: the video is NAME */
  static const char wh[] = ".whisper";
  size_t w = sizeof wh - 1;
  if (n > w && !memcmp(base + n - w, wh, w)) n -= w;
  return ar_strndup(base, n);
}

/* Default video ids: the file name without extension. When several inputs of one run share a
 * name (3Blue1Brown's per-video folders all hold "pt_community.srt"), each of them gets
 * "<parent folder>/<name>" instead, so no input silently replaces another. */
static ar_status default_ids(ar_ingest_inputs *in, ar_error *err) {
  for (size_t i = 0; i < in->n; i++)
    if (!in->v[i].row && !(in->v[i].video_id = stem_of(in->v[i].path, 0)))
      return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  char **renamed = ar_calloc(in->n ? in->n : 1, sizeof *renamed);
  if (!renamed) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < in->n; i++) {
    if (in->v[i].row) continue;
    for (size_t j = 0; j < in->n; j++)
      if (j != i && !in->v[j].row && !strcmp(in->v[i].video_id, in->v[j].video_id)) {
        if (!(renamed[i] = stem_of(in->v[i].path, 1))) {
          for (size_t k = 0; k < in->n; k++) ar_free(renamed[k]);
          ar_free(renamed);
          return ar_fail(err, AR_ERR_NOMEM, "out of memory");
        }
        break;
      }
  }
  for (size_t i = 0; i < in->n; i++)
    if (renamed[i]) { ar_free(in->v[i].video_id); in->v[i].video_id = renamed[i]; }
  ar_free(renamed);
  return AR_OK;
}

const char *ar_ingest_video_id(const ar_ingest_input *x) { return x->row ? x->row->video_id : x->video_id; }

/* The same file named twice (a folder and a file in it) is ingested once. */
static ar_status drop_repeats(ar_ingest_inputs *in, ar_error *err) {
  char **real = ar_calloc(in->n ? in->n : 1, sizeof *real);
  if (!real) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  for (size_t i = 0; i < in->n; i++) real[i] = realpath(in->v[i].path, NULL);
  size_t kept = 0;
  for (size_t i = 0; i < in->n; i++) {
    int dup = 0;
    for (size_t j = 0; j < kept && !dup; j++) dup = real[i] && real[j] && !strcmp(real[i], real[j]);
    if (dup) { ar_free(in->v[i].path); free(real[i]); continue; }
    in->v[kept] = in->v[i];
    real[kept++] = real[i];
  }
  in->n = kept;
  for (size_t i = 0; i < kept; i++) free(real[i]);
  ar_free(real);
  return AR_OK;
}

ar_status ar_ingest_collect(const char *const *paths, int n_paths, const ar_manifest *man,
                            const ar_ingest_params *p, ar_ingest_inputs *in, ar_error *err) {
  ar_status st;
  /* a path that does not exist is an error before anything is written */
  for (int i = 0; i < n_paths; i++) {
    struct stat sb;
    if (stat(paths[i], &sb) != 0) return ar_fail(err, AR_ERR_IO, "%s: %s", paths[i], strerror(errno));
    st = S_ISDIR(sb.st_mode) ? walk(paths[i], in, 0, err) : inputs_add(in, paths[i], err);
    if (st) return st;
  }
  if (n_paths <= 0)  /* a manifest alone: ingest every row */
    for (size_t i = 0; i < man->n; i++)
      if ((st = inputs_add(in, man->rows[i].path, err))) return st;
  if ((st = drop_repeats(in, err))) return st;
  for (size_t i = 0; i < in->n; i++) {
    in->v[i].row = p->manifest ? ar_manifest_find(man, in->v[i].path) : NULL;
    if (p->manifest && !in->v[i].row && p->warn) {
      /* Decision: a transcript the manifest does not list is still ingested, with the default
       * id/title and no URL, and the user is told (a forgotten row should not lose a lecture). */
      ar_error e;
      ar_fail(&e, AR_OK, "%s: not listed in %s; using defaults (video_id = file name, no URL)", in->v[i].path,
              p->manifest);
      p->warn(&e, p->user_data);
    }
  }
  if ((st = default_ids(in, err))) return st;
  /* two inputs that would become the same video: the second would silently replace the first */
  for (size_t i = 0; i < in->n; i++)
    for (size_t j = 0; j < i; j++)
      if (!strcmp(ar_ingest_video_id(&in->v[i]), ar_ingest_video_id(&in->v[j])))
        return ar_fail(err, AR_ERR_INVALID,
                       "%s and %s would both become video '%s' (give them distinct ids in a manifest)",
                       in->v[j].path, in->v[i].path, ar_ingest_video_id(&in->v[i]));
  return AR_OK;
}
