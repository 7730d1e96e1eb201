/* vectors.h - segment vectors in the index and the dense retriever over them (internal to src/index/). */
#ifndef AR_VECTORS_H
#define AR_VECTORS_H
#include "index/index.h"

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
 * Loads the vectors into one normalised matrix on first use and keeps it with the
 * index handle until the index changes. */
ar_status ar_vectors_search(ar_index *ix, const char *fingerprint, const float *q, int dim, int n,
                            const ar_idfilter *filter, ar_cand **out, size_t *n_out, ar_error *err);
/* Cosine of q with each corpus id's vector (NAN where a segment has none). Uses the loaded matrix. */
ar_status ar_vectors_cosines(ar_index *ix, const char *fingerprint, const float *q, int dim, const int64_t *ids,
                             size_t n, double *out, ar_error *err);

/* The ar_index keeps its loaded matrix here; the store calls these. */
typedef struct ar_vcache ar_vcache;
void ar_vectors_invalidate(ar_index *ix);   /* after any write to segments/vectors */
void ar_vcache_free(ar_vcache *c);

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
