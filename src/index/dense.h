/* dense.h - exact top-k inner-product search over a contiguous matrix, and RRF fusion (internal). */
#ifndef AR_DENSE_H
#define AR_DENSE_H
#include "aularag.h"
#include "index/filter.h"
#include "core/pool.h"

/* The rows a query is scored against. v and ids belong to the caller; the int8 scan copy that
 * ar_dense_prepare builds belongs to the struct (ar_dense_release frees it, and only it). */
typedef struct ar_dense_matrix {
  const float *v;        /* n x dim, row-major, L2-normalised (any finite rows work: bounds use norms) */
  const int64_t *ids;    /* n ids, ties broken by the smaller id; NULL: the row index is the id */
  size_t n;
  int dim;
  /* int8 scan copy (NULL until prepared): row i ~= scale[i] * q8[i*stride8 ..], and the exact
   * fp32 score differs from the int8 estimate by at most a bound built from resid[i] and norm[i]. */
  int8_t *q8;
  int stride8;           /* dim rounded up to 32 bytes, zero padded */
  float *scale, *resid, *norm;
  /* optional (NULL: trusted memory): per-row checksum of the fp32 rows (ar_dense_row_check). Every
   * row a scan reads in fp32 is verified first; a mismatch fails the query with AR_ERR_DB. */
  const uint32_t *check;
} ar_dense_matrix;

typedef struct ar_dense_hit {
  int64_t id;
  size_t row;
  float score;           /* the fp32 inner product (same kernel for every path, so paths agree bit for bit) */
} ar_dense_hit;

/* Builds the int8 scan copy. Costs n*dim bytes + 12 bytes per row. */
ar_status ar_dense_prepare(ar_dense_matrix *m, ar_error *err);
void ar_dense_release(ar_dense_matrix *m);

/* Below this many rows one thread scans faster than handing chunks to others. */
#define AR_DENSE_PAR_MIN_ROWS 50000

/* Exact top-k by fp32 inner product, best first; equal scores: smaller id first. Writes min(k, n)
 * hits to out (room for k). filter (NULL = all): only rows whose id it allows are scored, so the
 * result is the top-k of the allowed rows. pool: splits scans of >= 50000 rows over its threads
 * (NULL: the calling thread alone; a pool busy with another scan is waited for). Uses the int8 copy when prepared (and k is small against the rows scanned), else
 * scans the fp32 rows; both give the same hits. The query must be finite (NaN scores sort last). */
ar_status ar_dense_topk(const ar_dense_matrix *m, const float *q, size_t k, ar_pool *pool,
                        const ar_idfilter *filter, ar_dense_hit *out, size_t *n_out, ar_error *err);
/* The same, forcing a path (tests and the benchmark compare them): use_q8 = 0 fp32 scan, 1 int8 scan. */
ar_status ar_dense_topk_path(const ar_dense_matrix *m, const float *q, size_t k, ar_pool *pool,
                             const ar_idfilter *filter, int use_q8, ar_dense_hit *out, size_t *n_out,
                             ar_error *err);
/* 64-bit hash of n bytes (4 independent lanes, so it runs near memory speed); checksums of the
 * vector section. */
uint64_t ar_dense_hash(const void *p, size_t n, uint64_t seed);
/* The checksum of one fp32 row (dim floats). */
static inline uint32_t ar_dense_row_check(const float *row, int dim) {
  return (uint32_t)ar_dense_hash(row, (size_t)dim * sizeof *row, 0x5EC7);
}
/* The fp32 inner product every path ranks by. */
float ar_dense_dot(const float *a, const float *b, int dim);

/* Reciprocal rank fusion: score(d) = sum over lists containing d of 1 / (rrf_k + rank), rank 1-based.
 * Output best first; ties: better best rank, then smaller id. */
#define AR_RRF_MAX_LISTS 4
typedef struct ar_fused {
  int64_t id;
  double score;
  int rank[AR_RRF_MAX_LISTS];   /* 1-based rank in list i, 0 when absent */
} ar_fused;

/* lists[i] holds lens[i] ids, best first (a repeated id keeps its first rank). *out is ar_malloc'd. */
ar_status ar_rrf_fuse(const int64_t *const *lists, const size_t *lens, int n_lists, int rrf_k, ar_fused **out,
                      size_t *n_out, ar_error *err);
#endif
