/* vectors.h - segment vectors in the index and the dense retriever over them (internal to src/index/). */
#ifndef AR_VECTORS_H
#define AR_VECTORS_H
#include "index/index.h"
#include "index/vecfile.h"
#include <stdatomic.h>

/* The embedder a search or ingest uses: p->embedder, else the model's (written to *tmp), else NULL. */
const ar_embedder *ar_embedder_pick(const ar_embedder *e, ar_model *m, ar_embedder *tmp);

/* AR_OK when vectors made by `fingerprint` may be added to / compared with the index's: it has no
 * vectors yet, or they carry the same fingerprint and dim. AR_ERR_MISMATCH names both fingerprints. */
ar_status ar_vectors_check_model(ar_index *ix, const char *fingerprint, int dim, ar_error *err);

/* Embeds every segment without a vector ("passage: " kind), in batches of `batch`, each batch committed
 * on its own (an interrupted run resumes where it stopped). Records the fingerprint and dim in meta.
 * Progress stage "embed" in segments; a non-zero return from progress stops with AR_ERR_ABORTED. */
ar_status ar_vectors_embed_pending_with(ar_index *ix, const ar_embedder *e, int batch, ar_progress_fn progress,
                                        void *user_data, int64_t *embedded, ar_error *err);

/* Writes one vector (fp32 little-endian blob) for a segment, in the caller's transaction if any. */
ar_status ar_vectors_put(ar_index *ix, int64_t segment_id, const float *v, int dim, ar_error *err);
/* 1 when the index holds at least one vector, 0 when none, -1 on error. */
int ar_vectors_any(ar_index *ix);

/* Dense top-n of query vector q (dim floats, from the model `fingerprint`): candidates best first with
 * the cosine as score; with a filter, the top-n among the allowed ids (a filtered top-n, never a post-filter).
 * The matrix is shared by every handle of the process on the same index file and state: mapped from the
 * vector section (INDEX.vec, src/index/vecfile.c) when that is current, else read from SQLite once and
 * written as a new section. A handle keeps its reference until the index changes, so a search in flight
 * keeps the matrix it started with. */
ar_status ar_vectors_search(ar_index *ix, const char *fingerprint, const float *q, int dim, int n,
                            const ar_idfilter *filter, ar_cand **out, size_t *n_out, ar_error *err);
/* Cosine of q with each corpus id's vector (NAN where a segment has none). Uses the loaded matrix. */
ar_status ar_vectors_cosines(ar_index *ix, const char *fingerprint, const float *q, int dim, const int64_t *ids,
                             size_t n, double *out, ar_error *err);

/* The ar_index keeps its reference to the shared matrix here; the store calls these. */
typedef struct ar_vcache ar_vcache;
/* A loaded matrix, shared by every ar_index of the process that reads the same index state. */
struct ar_vcache {
  int refs;              /* the ar_index handles holding it (under reg_mu) */
  ar_vecstamp stamp;     /* the index state it holds; gen -1: an unstamped index (private to one handle) */
  int64_t data_version;  /* unstamped only: PRAGMA data_version at load */
  ar_dense_matrix m;     /* points into map, or at the heap copies below */
  ar_vecmap map;         /* the mapped vector section (map.base NULL: none) */
  float *v;              /* heap copies when not mapped: n x dim normalised, */
  int64_t *ids;          /* ascending segment ids (lookups bisect), */
  uint32_t *check;       /* per-row checksums */
  atomic_int bad;        /* a row failed its checksum: never handed out again */
  ar_pool *pool;         /* splits the scans of a large matrix over the cores (under reg_mu; NULL until
                            the first such scan): one pool for every query, no threads per query */
};
void ar_vectors_invalidate(ar_index *ix);   /* drops the handle's reference (after writes) */
void ar_vcache_free(ar_vcache *c);          /* releases one reference */

/* Idempotent migration, at every writable open: the triggers that bump meta 'vectors_gen' in every
 * transaction that changes vectors, and meta 'vectors_uid'. */
ar_status ar_vectors_migrate(ar_index *ix, ar_error *err);
/* Makes the vector section current (writes it when stale or missing), so the next process's first
 * query maps it. No-op without vectors. */
ar_status ar_vectors_refresh(ar_index *ix, ar_error *err);

/* ar_search's dense side (src/index/dense_search.c). AUTO -> HYBRID when p->embedder or p->model is set and the
 * index has vectors, else LEXICAL. */
ar_search_mode ar_search_auto_mode(ar_index *ix, const ar_search_params *p);
/* AR_OK when `mode` (DENSE or HYBRID) can run: an embedder or model is given and the index has vectors. */
ar_status ar_search_dense_check(ar_index *ix, const ar_search_params *p, ar_search_mode mode, ar_error *err);
/* Fills out->hits/out->n for DENSE (score = cosine) or HYBRID (score = RRF of the lexical and dense
 * top `candidates`; lexical_* and dense_* filled, dense_score = the cosine for every hit). filter (may
 * be NULL): both retrievers rank only the allowed ids. */
ar_status ar_search_dense(ar_index *ix, const char *query, const ar_search_params *p, ar_search_mode mode,
                          const ar_idfilter *filter, ar_results *out, ar_error *err);

/* ar_count_fn over an embedder's passage tokens (user_data = const ar_embedder *): the segmenter's cap. */
int ar_vectors_count_passage_tokens(const char *text, size_t len, void *embedder);
#endif
