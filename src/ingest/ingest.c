/* ingest.c - files/folders + manifest -> parsed, segmented videos in the index, one commit each.
 * The stage sits above index/: 1. which files (inputs.c), 2. each one loaded as cues, segmented and
 * committed, 3. the segments embedded. A new source of cues (media to transcribe) plugs in at
 * load_cues, before segmenting. */
#include "ingest/ingest.h"
#include "index/index.h"
#include "index/vectors.h"
#include <sys/stat.h>

ar_ingest_params ar_ingest_default_params(void) {
  ar_ingest_params p = {0};
  p.seg = ar_segment_default_params();
  p.embed_batch = 16;
  return p;
}

static void warn(const ar_ingest_params *p, ar_error *e) {
  if (p->warn) p->warn(e, p->user_data);
}

/* The cues of one input (its transcript, parsed). */
static ar_status load_cues(const ar_ingest_input *x, ar_cues *cues, ar_error *e) {
  return ar_transcript_load(x->path, cues, e);
}

/* Step 2 for one input: parse, segment, commit. A bad file is counted in stats->files_failed,
 * reported through warn and skipped (AR_OK; what is already in the index stays as it was); out of
 * memory, segment parameters that fit no transcript and database errors stop the run. */
static ar_status ingest_one(ar_index *ix, const ar_ingest_input *x, const ar_segment_params *seg,
                            const ar_ingest_params *p, ar_ingest_stats *stats, ar_error *err) {
  ar_cues cues = {0};
  ar_segments segs = {0};
  ar_error e;
  ar_status st = load_cues(x, &cues, &e);
  if (!st && cues.n == 0) {
    /* Decision: a transcript without speech (a 0-byte file, or only blank cues) is a video with
     * nothing to search, not a broken input: warn and skip it; whatever the index holds for it stays. */
    stats->files_empty++;
    ar_fail(&e, AR_OK, "%s: empty transcript (no cues); skipped", x->path);
    warn(p, &e);
    ar_cues_free(&cues);
    return AR_OK;
  }
  if (!st) st = ar_segment_cues(&cues, seg, &segs, &e);
  if (st == AR_ERR_INVALID && !cues.n) st = AR_ERR_PARSE;
  if (st == AR_ERR_NOMEM || st == AR_ERR_INVALID) {
    ar_pass(err, &e);
  } else if (st) {
    stats->files_failed++;
    warn(p, &e);
    st = AR_OK;
  } else {
    ar_video v = {ar_ingest_video_id(x), x->row ? x->row->title : x->video_id, x->row ? x->row->url : "", x->path,
                  x->row ? x->row->course : NULL, x->row ? x->row->course_title : NULL};
    int changed = 0;
    stats->cues += (int64_t)cues.n;
    if ((st = ar_index_put_video_ex(ix, &v, &segs, &changed, &e))) ar_pass(err, &e);  /* a database error stops the run */
    else {
      stats->segments += (int64_t)segs.n;
      if (changed) stats->files_ok++;
      else stats->files_unchanged++;
    }
  }
  ar_cues_free(&cues);
  ar_segments_free(&segs);
  return st;
}

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
  ar_ingest_inputs in = {0};
  ar_status st = AR_OK;
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
  if ((st = ar_ingest_collect(paths, n_paths, &man, p, &in, err))) goto done;

  /* 2. one video at a time: parse, segment, commit */
  for (size_t i = 0; i < in.n; i++) {
    if (p->progress) {
      ar_progress pr = {"parse", in.v[i].path, (int64_t)i, (int64_t)in.n};
      if (p->progress(&pr, p->user_data)) { st = ar_fail(err, AR_ERR_ABORTED, "ingest aborted"); goto done; }
    }
    if ((st = ingest_one(ix, &in.v[i], &seg, p, stats, err))) goto done;
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

  if (stats->files_failed)
    st = ar_fail(err, AR_ERR_PARSE, "%d of %zu transcripts could not be ingested (see the messages above)",
                 stats->files_failed, in.n);
done:
  stats->seconds = ar_now_s() - t0;
  ar_ingest_inputs_free(&in);
  ar_manifest_free(&man);
  return st;
}
