/* ingest.c - files/folders + manifest -> parsed, segmented videos in the index, one commit each. */
#include "index/index.h"
#include "index/vectors.h"
#include "core/util.h"
#include <dirent.h>
#include <errno.h>
#include <strings.h>
#include <sys/stat.h>

ar_ingest_params ar_ingest_default_params(void) {
  ar_ingest_params p = {0};
  p.seg = ar_segment_default_params();
  p.embed_batch = 16;
  return p;
}

/* One transcript to ingest and the video it becomes. */
typedef struct input {
  char *path;
  const ar_manifest_row *row;  /* NULL: defaults from the file name */
  char *video_id;              /* default id (when row == NULL) */
} input;

typedef struct inputs {
  input *v;
  size_t n, cap;
} inputs;

static void inputs_free(inputs *in) {
  for (size_t i = 0; i < in->n; i++) { ar_free(in->v[i].path); ar_free(in->v[i].video_id); }
  ar_free(in->v);
}

static ar_status inputs_add(inputs *in, const char *path, ar_error *err) {
  if (in->n == in->cap) {
    size_t nc = in->cap ? in->cap * 2 : 64;
    input *nv = ar_realloc(in->v, nc * sizeof *nv);
    if (!nv) return ar_fail(err, AR_ERR_NOMEM, "out of memory listing inputs");
    in->v = nv;
    in->cap = nc;
  }
  input *x = &in->v[in->n];
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
static ar_status walk(const char *dir, inputs *in, int depth, ar_error *err) {
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
  return ar_strndup(base, n);
}

/* Default video ids: the file name without extension. When several inputs of one run share a
 * name (3Blue1Brown's per-video folders all hold "pt_community.srt"), each of them gets
 * "<parent folder>/<name>" instead, so no input silently replaces another. */
static ar_status default_ids(inputs *in, ar_error *err) {
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

static const char *input_video_id(const input *x) { return x->row ? x->row->video_id : x->video_id; }

ar_status ar_ingest(ar_index *ix, const char *const *paths, int n_paths, const ar_ingest_params *p,
                    ar_ingest_stats *stats, ar_error *err) {
  ar_ingest_stats local;
  if (!stats) stats = &local;
  memset(stats, 0, sizeof *stats);
  double t0 = ar_now_s();
  ar_ingest_params defaults = ar_ingest_default_params();
  if (!p) p = &defaults;
  if (ix->read_only) return ar_fail(err, AR_ERR_INVALID, "%s is open read-only", ix->path);
  if (n_paths <= 0 && !p->manifest) return ar_fail(err, AR_ERR_INVALID, "nothing to ingest: give files or folders");
  /* dense: another model's vectors are refused before anything is written; with a model the segment
   * cap is the encoder's own token limit (prefix and specials included), so nothing is ever truncated */
  ar_segment_params seg = p->seg;
  ar_embedder tmp;
  const ar_embedder *emb = ar_embedder_pick(p->embedder, p->model, &tmp);
  if (emb) {
    ar_status ms = ar_vectors_check_model(ix, emb->fingerprint, emb->dim, err);
    if (ms) return ms;
    if (!seg.count && emb->count_tokens && emb->max_tokens > 0) {
      seg.count = ar_vectors_count_passage_tokens;
      seg.count_user_data = (void *)emb;
      seg.max_units = emb->max_tokens;
    }
  }

  ar_manifest man = {0};
  inputs in = {0};
  ar_status st = AR_OK, overall = AR_OK;
  ar_error e;
  if (p->manifest) {
    if ((st = ar_manifest_load(p->manifest, &man, err))) return st;
    /* every row must name an existing file: checked before anything is written */
    for (size_t i = 0; i < man.n; i++) {
      struct stat sb;
      if (stat(man.rows[i].path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = ar_fail(err, AR_ERR_IO, "%s:%d: file '%s' not found (%s)", p->manifest, man.rows[i].line,
                     man.rows[i].file, man.rows[i].path);
        goto done;
      }
    }
  }
  /* 1. collect inputs; a path that does not exist is an error before anything is written */
  for (int i = 0; i < n_paths; i++) {
    struct stat sb;
    if (stat(paths[i], &sb) != 0) { st = ar_fail(err, AR_ERR_IO, "%s: %s", paths[i], strerror(errno)); goto done; }
    st = S_ISDIR(sb.st_mode) ? walk(paths[i], &in, 0, err) : inputs_add(&in, paths[i], err);
    if (st) goto done;
  }
  if (n_paths <= 0)  /* a manifest alone: ingest every row */
    for (size_t i = 0; i < man.n; i++)
      if ((st = inputs_add(&in, man.rows[i].path, err))) goto done;
  /* the same file named twice (a folder and a file in it) is ingested once */
  {
    char **real = ar_calloc(in.n ? in.n : 1, sizeof *real);
    if (!real) { st = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
    for (size_t i = 0; i < in.n; i++) real[i] = realpath(in.v[i].path, NULL);
    size_t kept = 0;
    for (size_t i = 0; i < in.n; i++) {
      int dup = 0;
      for (size_t j = 0; j < kept && !dup; j++) dup = real[i] && real[j] && !strcmp(real[i], real[j]);
      if (dup) { ar_free(in.v[i].path); free(real[i]); continue; }
      in.v[kept] = in.v[i];
      real[kept++] = real[i];
    }
    in.n = kept;
    for (size_t i = 0; i < kept; i++) free(real[i]);
    ar_free(real);
  }
  for (size_t i = 0; i < in.n; i++) {
    in.v[i].row = p->manifest ? ar_manifest_find(&man, in.v[i].path) : NULL;
    if (p->manifest && !in.v[i].row && p->warn) {
      /* Decision: a transcript the manifest does not list is still ingested, with the default
       * id/title and no URL, and the user is told (a forgotten row should not lose a lecture). */
      ar_fail(&e, AR_OK, "%s: not listed in %s; using defaults (video_id = file name, no URL)", in.v[i].path,
              p->manifest);
      p->warn(&e, p->user_data);
    }
  }
  if ((st = default_ids(&in, err))) goto done;
  /* two inputs that would become the same video: the second would silently replace the first */
  for (size_t i = 0; i < in.n; i++)
    for (size_t j = 0; j < i; j++)
      if (!strcmp(input_video_id(&in.v[i]), input_video_id(&in.v[j]))) {
        st = ar_fail(err, AR_ERR_INVALID, "%s and %s would both become video '%s' (give them distinct ids in a manifest)",
                     in.v[j].path, in.v[i].path, input_video_id(&in.v[i]));
        goto done;
      }

  /* 2. one video at a time: parse, segment, commit */
  for (size_t i = 0; i < in.n; i++) {
    const input *x = &in.v[i];
    if (p->progress) {
      ar_progress pr = {"parse", x->path, (int64_t)i, (int64_t)in.n};
      if (p->progress(&pr, p->user_data)) { st = ar_fail(err, AR_ERR_ABORTED, "ingest aborted"); goto done; }
    }
    ar_cues cues = {0};
    ar_segments segs = {0};
    ar_status fst = ar_transcript_load(x->path, &cues, &e);
    if (!fst && cues.n == 0) {
      /* Decision: a transcript without speech (a 0-byte file, or only blank cues) is a video with
       * nothing to search, not a broken input: warn and skip it; whatever the index holds for it stays. */
      stats->files_empty++;
      if (p->warn) {
        ar_fail(&e, AR_OK, "%s: empty transcript (no cues); skipped", x->path);
        p->warn(&e, p->user_data);
      }
      ar_cues_free(&cues);
      continue;
    }
    if (!fst) fst = ar_segment_cues(&cues, &seg, &segs, &e);
    if (fst == AR_ERR_NOMEM) { *err = e; st = fst; ar_cues_free(&cues); ar_segments_free(&segs); goto done; }
    if (fst == AR_ERR_INVALID && !cues.n) fst = AR_ERR_PARSE;
    if (fst) {
      /* a bad file is skipped; what is already in the index stays as it was */
      if (fst == AR_ERR_INVALID) { *err = e; st = fst; ar_cues_free(&cues); ar_segments_free(&segs); goto done; }
      stats->files_failed++;
      overall = AR_ERR_PARSE;
      if (p->warn) p->warn(&e, p->user_data);
      ar_cues_free(&cues);
      ar_segments_free(&segs);
      continue;
    }
    ar_video v = {input_video_id(x), x->row ? x->row->title : x->video_id, x->row ? x->row->url : "", x->path,
                  x->row ? x->row->course : NULL, x->row ? x->row->course_title : NULL};
    int changed = 0;
    fst = ar_index_put_video_ex(ix, &v, &segs, &changed, &e);
    stats->cues += (int64_t)cues.n;
    ar_cues_free(&cues);
    if (fst) { *err = e; st = fst; ar_segments_free(&segs); goto done; }  /* a database error stops the run */
    stats->segments += (int64_t)segs.n;
    ar_segments_free(&segs);
    if (changed) stats->files_ok++;
    else stats->files_unchanged++;
  }
  if (p->progress) {
    ar_progress pr = {"parse", NULL, (int64_t)in.n, (int64_t)in.n};
    p->progress(&pr, p->user_data);
  }

  /* 3. dense: embed every segment that has no vector yet (new or replaced videos, or the rest of an
   * interrupted run); each batch commits on its own */
  if (emb && (st = ar_vectors_embed_pending_with(ix, emb, p->embed_batch, p->progress, p->user_data,
                                                &stats->embedded, err)))
    goto done;
  /* leave the vector section current, so the next search maps it instead of reading every row; it is
   * a cache (the index is complete without it), so failing to write it is not an ingest error */
  ar_vectors_refresh(ix, NULL);

  if (overall != AR_OK)
    st = ar_fail(err, overall, "%d of %zu transcripts could not be ingested (see the messages above)",
                 stats->files_failed, in.n);
done:
  stats->seconds = ar_now_s() - t0;
  inputs_free(&in);
  ar_manifest_free(&man);
  return st;
}
