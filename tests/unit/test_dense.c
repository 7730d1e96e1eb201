/* test_dense.c - exact top-k (fp32 and int8-with-bound scans) against a naive double-precision scan; RRF. */
#include "test.h"
#include "core/util.h"
#include "index/dense.h"
#include <stdint.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static double urand(void) { return ar_rng_unit(&rng_state); }
static double nrand(void) { return sqrt(-2 * log(urand() + 1e-300)) * cos(6.283185307179586 * urand()); }

static void normalise(float *v, int dim) {
  double s = 0;
  for (int i = 0; i < dim; i++) s += (double)v[i] * v[i];
  s = sqrt(s);
  if (s > 0) for (int i = 0; i < dim; i++) v[i] = (float)(v[i] / s);
}

/* n random unit rows; spread < 1 pulls them around one direction, so scores crowd (like e5 cosines). */
static float *random_matrix(size_t n, int dim, double spread) {
  float *m = malloc((n ? n : 1) * (size_t)(dim ? dim : 1) * sizeof *m);
  float *base = malloc((size_t)(dim ? dim : 1) * sizeof *base);
  for (int i = 0; i < dim; i++) base[i] = (float)nrand();
  normalise(base, dim);
  for (size_t r = 0; r < n; r++) {
    for (int i = 0; i < dim; i++) m[r * dim + i] = (float)(spread * nrand() / sqrt(dim) + (1 - spread) * base[i]);
    normalise(m + r * dim, dim);
  }
  free(base);
  return m;
}

typedef struct { double s; int64_t id; } ref_hit;
static int cmp_ref(const void *a, const void *b) {
  const ref_hit *x = a, *y = b;
  if (x->s != y->s) return x->s > y->s ? -1 : 1;
  return x->id < y->id ? -1 : x->id > y->id;
}

/* Checks hits against a double-precision scan: scores within tol of the reference ranks, each hit's
 * true score close to its reported one, ids distinct, order best first with ties by id. */
static int check_against_ref(const float *m, const int64_t *ids, size_t n, int dim, const float *q, size_t k,
                             const ar_dense_hit *h, size_t nh) {
  size_t want = k < n ? k : n;
  if (nh != want) { fprintf(stderr, "  got %zu hits, want %zu\n", nh, want); return 0; }
  ref_hit *ref = malloc((n ? n : 1) * sizeof *ref);
  for (size_t r = 0; r < n; r++) {
    double s = 0;
    for (int i = 0; i < dim; i++) s += (double)m[r * dim + i] * q[i];
    ref[r] = (ref_hit){s, ids ? ids[r] : (int64_t)r};
  }
  qsort(ref, n, sizeof *ref, cmp_ref);
  int ok = 1;
  for (size_t i = 0; i < nh && ok; i++) {
    double truth = 0;
    for (int d = 0; d < dim; d++) truth += (double)m[h[i].row * dim + d] * q[d];
    if (fabs(truth - h[i].score) > 1e-5) { fprintf(stderr, "  hit %zu score %g vs %g\n", i, h[i].score, truth); ok = 0; }
    if (fabs(ref[i].s - h[i].score) > 1e-5) { fprintf(stderr, "  rank %zu: %g vs ref %g\n", i, h[i].score, ref[i].s); ok = 0; }
    if ((ids ? ids[h[i].row] : (int64_t)h[i].row) != h[i].id) { fprintf(stderr, "  id/row mismatch\n"); ok = 0; }
    if (i && (h[i].score > h[i - 1].score || (h[i].score == h[i - 1].score && h[i].id <= h[i - 1].id))) {
      fprintf(stderr, "  order broken at %zu\n", i); ok = 0;
    }
  }
  free(ref);
  return ok;
}

static int same_hits(const ar_dense_hit *a, const ar_dense_hit *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i].id != b[i].id || a[i].row != b[i].row || memcmp(&a[i].score, &b[i].score, sizeof(float)) != 0) {
      fprintf(stderr, "  hit %zu differs: id %lld/%lld score %.9g/%.9g\n", i, (long long)a[i].id,
              (long long)b[i].id, a[i].score, b[i].score);
      return 0;
    }
  return 1;
}

/* Runs both paths over one matrix and checks each against the reference and each other. */
/* One pool per thread count, kept for the whole run (tests reuse them, as the index does). */
static ar_pool *pool_of(int threads) {
  static ar_pool *pools[9];
  if (threads <= 1 || threads > 8) return NULL;
  if (!pools[threads]) pools[threads] = ar_pool_new(threads);
  return pools[threads];
}

static int run_case(size_t n, int dim, size_t k, double spread, int threads, int with_ids) {
  float *m = random_matrix(n, dim, spread);
  float *q = random_matrix(1, dim, spread > 0.5 ? 1.0 : spread);
  int64_t *ids = NULL;
  if (with_ids) {  /* ids in reverse so row order and id order disagree */
    ids = malloc((n ? n : 1) * sizeof *ids);
    for (size_t r = 0; r < n; r++) ids[r] = (int64_t)(1000 + 3 * (n - r));
  }
  ar_dense_matrix dm = {.v = m, .ids = ids, .n = n, .dim = dim};
  ar_dense_hit *h1 = malloc((k ? k : 1) * sizeof *h1), *h2 = malloc((k ? k : 1) * sizeof *h2);
  size_t n1 = 99, n2 = 99;
  ar_error err = {0};
  int ok = ar_dense_topk_path(&dm, q, k, pool_of(threads), NULL, 0, h1, &n1, &err) == AR_OK;
  ok = ok && ar_dense_prepare(&dm, &err) == AR_OK;
  ok = ok && ar_dense_topk_path(&dm, q, k, pool_of(threads), NULL, 1, h2, &n2, &err) == AR_OK;
  if (!ok) fprintf(stderr, "  error: %s\n", err.msg);
  ok = ok && check_against_ref(m, ids, n, dim, q, k, h1, n1) && n1 == n2 && same_hits(h1, h2, n1);
  if (!ok) fprintf(stderr, "  case n=%zu dim=%d k=%zu spread=%g threads=%d\n", n, dim, k, spread, threads);
  ar_dense_release(&dm);
  free(m); free(q); free(ids); free(h1); free(h2);
  return ok;
}

TEST(dense_topk_matches_double_scan) {
  const int dims[] = {1, 7, 8, 13, 32, 100, 384, 385};
  for (size_t d = 0; d < AR_ARRAY_LEN(dims); d++) {
    ASSERT(run_case(1000, dims[d], 10, 1.0, 1, 0));
    ASSERT(run_case(257, dims[d], 1, 1.0, 1, 1));
  }
}

TEST(dense_topk_edge_sizes) {
  ASSERT(run_case(0, 16, 10, 1.0, 1, 0));     /* N = 0 */
  ASSERT(run_case(5, 16, 10, 1.0, 1, 0));     /* k > N: all rows, ranked */
  ASSERT(run_case(5, 16, 5, 1.0, 1, 1));      /* k == N */
  ASSERT(run_case(100, 16, 0, 1.0, 1, 0));    /* k = 0 */
  ASSERT(run_case(3000, 24, 3000, 1.0, 1, 1)); /* full sort */
}

TEST(dense_topk_crowded_scores) {
  /* rows within a narrow cone: many scores inside the int8 bound, so rescoring decides the order */
  ASSERT(run_case(4000, 384, 10, 0.05, 1, 1));
  ASSERT(run_case(4000, 64, 50, 0.01, 1, 0));
}

TEST(dense_topk_threads) {
  /* >= 50000 rows take the threaded path; results must not depend on the thread count */
  size_t n = 60000;
  int dim = 40;
  float *m = random_matrix(n, dim, 0.3), *q = random_matrix(1, dim, 0.3);
  ar_dense_matrix dm = {.v = m, .n = n, .dim = dim};
  ar_error err;
  ASSERT(ar_dense_prepare(&dm, &err) == AR_OK);
  ar_dense_hit a[20], b[20];
  size_t na, nb;
  for (int path = 0; path < 2; path++)
    for (int t = 2; t <= 5; t += 3) {
      ASSERT(ar_dense_topk_path(&dm, q, 20, NULL, NULL, path, a, &na, &err) == AR_OK);
      ASSERT(ar_dense_topk_path(&dm, q, 20, pool_of(t), NULL, path, b, &nb, &err) == AR_OK);
      ASSERT(na == 20 && nb == 20 && same_hits(a, b, 20));
      ASSERT(check_against_ref(m, NULL, n, dim, q, 20, b, nb));
    }
  ar_dense_release(&dm);
  free(m); free(q);
}

/* Filtered top-k: the hits of a scan over only the allowed rows (a compact copy, itself checked against
 * the double-precision scan), bit for bit, on every path and thread count. */
static int run_filtered(size_t n, int dim, size_t k, double keep, int threads) {
  float *m = random_matrix(n, dim, 0.3), *q = random_matrix(1, dim, 0.3);
  int64_t *ids = malloc(n * sizeof *ids);
  for (size_t r = 0; r < n; r++) ids[r] = (int64_t)(7 + 2 * r);   /* ascending, with gaps */
  int64_t nbits = ids[n - 1] + 1;
  uint64_t *bits = calloc((size_t)(nbits + 63) / 64, sizeof *bits);
  float *sub = malloc(n * (size_t)dim * sizeof *sub);
  int64_t *sub_ids = malloc(n * sizeof *sub_ids);
  size_t ns = 0;
  for (size_t r = 0; r < n; r++)
    if (urand() < keep) {
      bits[ids[r] >> 6] |= 1ull << (ids[r] & 63);
      memcpy(sub + ns * dim, m + r * dim, (size_t)dim * sizeof *sub);
      sub_ids[ns++] = ids[r];
    }
  ar_idfilter f = {bits, nbits};
  ar_dense_matrix dm = {.v = m, .ids = ids, .n = n, .dim = dim}, ds = {.v = sub, .ids = sub_ids, .n = ns, .dim = dim};
  ar_dense_hit *ref = malloc((k + 1) * sizeof *ref), *h = malloc((k + 1) * sizeof *h);
  size_t nr, nh;
  ar_error err = {0};
  int ok = ar_dense_topk_path(&ds, q, k, NULL, NULL, 0, ref, &nr, &err) == AR_OK &&
           check_against_ref(sub, sub_ids, ns, dim, q, k, ref, nr) && ar_dense_prepare(&dm, &err) == AR_OK;
  for (int path = -1; path < 2 && ok; path++) {   /* -1: ar_dense_topk's own choice */
    ar_status st = path < 0 ? ar_dense_topk(&dm, q, k, pool_of(threads), &f, h, &nh, &err)
                            : ar_dense_topk_path(&dm, q, k, pool_of(threads), &f, path, h, &nh, &err);
    ok = st == AR_OK && nh == nr;
    for (size_t i = 0; ok && i < nh; i++)
      ok = h[i].id == ref[i].id && memcmp(&h[i].score, &ref[i].score, sizeof(float)) == 0 &&
           ids[h[i].row] == h[i].id;
    if (!ok) fprintf(stderr, "  filtered n=%zu keep=%g k=%zu threads=%d path=%d: %s\n", n, keep, k, threads, path,
                     st ? err.msg : "hits differ");
  }
  ar_dense_release(&dm);
  free(m); free(q); free(ids); free(bits); free(sub); free(sub_ids); free(ref); free(h);
  return ok;
}

TEST(dense_topk_filtered) {
  ASSERT(run_filtered(5000, 48, 10, 0.005, 1));   /* a small course: fewer allowed rows than 16k */
  ASSERT(run_filtered(5000, 48, 10, 0.5, 1));
  ASSERT(run_filtered(60000, 24, 20, 0.03, 2));   /* past the thread threshold before filtering */
  ASSERT(run_filtered(60000, 24, 20, 0.9, 2));    /* threads after filtering too */
  ASSERT(run_filtered(3000, 16, 50, 0.004, 1));   /* fewer allowed rows than k */
  ASSERT(run_filtered(2000, 16, 5, 0.0, 1));      /* nothing allowed */
}

TEST(dense_topk_ties_break_by_id) {
  /* five identical rows and one better one: ties come out by ascending id, whatever the row order */
  const int dim = 9;
  float m[6 * 9], q[9];
  for (int i = 0; i < dim; i++) q[i] = (float)(i + 1) / 10;
  for (int r = 0; r < 6; r++)
    for (int i = 0; i < dim; i++) m[r * dim + i] = r == 3 ? q[i] : (float)(dim - i) / 10;
  int64_t ids[6] = {50, 40, 30, 99, 10, 20};
  ar_dense_matrix dm = {.v = m, .ids = ids, .n = 6, .dim = dim};
  ar_error err;
  ASSERT(ar_dense_prepare(&dm, &err) == AR_OK);
  for (int path = 0; path < 2; path++) {
    ar_dense_hit h[4];
    size_t n;
    ASSERT(ar_dense_topk_path(&dm, q, 4, NULL, NULL, path, h, &n, &err) == AR_OK);
    ASSERT_EQ_INT(n, 4);
    ASSERT_EQ_INT(h[0].id, 99);
    ASSERT_EQ_INT(h[1].id, 10);
    ASSERT_EQ_INT(h[2].id, 20);
    ASSERT_EQ_INT(h[3].id, 30);
    ASSERT_EQ_INT(h[1].row, 4);
    ASSERT(h[1].score == h[2].score && h[2].score == h[3].score);
  }
  ar_dense_release(&dm);
}

TEST(dense_prepare_rejects_non_finite) {
  float m[8] = {1, 0, 0, 0, 0, NAN, 0, 0};
  ar_dense_matrix dm = {.v = m, .n = 2, .dim = 4};
  ar_error err;
  ASSERT(ar_dense_prepare(&dm, &err) == AR_ERR_INVALID);
  ASSERT(strstr(err.msg, "row 1") != NULL);
  ASSERT(dm.q8 == NULL);
}

TEST(dense_dot_matches_double) {
  for (int dim = 0; dim <= 70; dim++) {
    float *a = random_matrix(2, dim > 0 ? dim : 1, 1.0);
    double ref = 0;
    for (int i = 0; i < dim; i++) ref += (double)a[i] * a[dim + i];
    ASSERT_NEAR(ar_dense_dot(a, a + (dim > 0 ? dim : 1), dim), ref, 1e-6);
    free(a);
  }
}

/* ---- RRF ---- */

TEST(rrf_hand_worked) {
  /* lexical: 7 3 5 ; dense: 3 9 7, k = 60
   *   3: 1/62 + 1/61 = 0.0325224...   7: 1/61 + 1/63 = 0.0322664...
   *   9: 1/62 = 0.0161290...          5: 1/63 = 0.0158730... */
  int64_t lex[] = {7, 3, 5}, den[] = {3, 9, 7};
  const int64_t *lists[] = {lex, den};
  size_t lens[] = {3, 3};
  ar_fused *f;
  size_t n;
  ASSERT(ar_rrf_fuse(lists, lens, 2, 60, &f, &n, NULL) == AR_OK);
  ASSERT_EQ_INT(n, 4);
  ASSERT_EQ_INT(f[0].id, 3); ASSERT_NEAR(f[0].score, 1.0 / 62 + 1.0 / 61, 1e-15);
  ASSERT_EQ_INT(f[0].rank[0], 2); ASSERT_EQ_INT(f[0].rank[1], 1);
  ASSERT_EQ_INT(f[1].id, 7); ASSERT_NEAR(f[1].score, 1.0 / 61 + 1.0 / 63, 1e-15);
  ASSERT_EQ_INT(f[1].rank[0], 1); ASSERT_EQ_INT(f[1].rank[1], 3);
  ASSERT_EQ_INT(f[2].id, 9); ASSERT_EQ_INT(f[2].rank[0], 0); ASSERT_EQ_INT(f[2].rank[1], 2);
  ASSERT_EQ_INT(f[3].id, 5); ASSERT_NEAR(f[3].score, 1.0 / 63, 1e-15);
  ar_free(f);
}

TEST(rrf_ties_and_duplicates) {
  /* 8 is first in one list, 2 first in the other: equal scores, same best rank -> smaller id first.
   * 4 (rank 2 in a) ties 6 (rank 2 in b). A repeated id keeps its first rank. */
  int64_t a[] = {8, 4, 8}, b[] = {2, 6};
  const int64_t *lists[] = {a, b};
  size_t lens[] = {3, 2};
  ar_fused *f;
  size_t n;
  ASSERT(ar_rrf_fuse(lists, lens, 2, 1, &f, &n, NULL) == AR_OK);
  ASSERT_EQ_INT(n, 4);
  ASSERT_EQ_INT(f[0].id, 2); ASSERT_EQ_INT(f[1].id, 8); ASSERT_EQ_INT(f[2].id, 4); ASSERT_EQ_INT(f[3].id, 6);
  ASSERT_NEAR(f[1].score, 0.5, 1e-15);   /* 1/(1+1), not also 1/(1+3) */
  ASSERT_EQ_INT(f[1].rank[0], 1);
  ar_free(f);
}

TEST(rrf_empty_and_bad_args) {
  ar_fused *f;
  size_t n;
  size_t lens[] = {0, 0};
  const int64_t *lists[] = {NULL, NULL};
  ASSERT(ar_rrf_fuse(lists, lens, 2, 60, &f, &n, NULL) == AR_OK);
  ASSERT_EQ_INT(n, 0);
  ar_free(f);
  ar_error err;
  ASSERT(ar_rrf_fuse(lists, lens, 2, -1, &f, &n, &err) == AR_ERR_INVALID);
  ASSERT(ar_rrf_fuse(lists, lens, 9, 60, &f, &n, &err) == AR_ERR_INVALID);
}

TEST(rrf_out_of_memory) {
  int64_t a[] = {1, 2};
  const int64_t *lists[] = {a};
  size_t lens[] = {2};
  ar_fused *f = (ar_fused *)1;
  size_t n;
  ar_error err;
  ar_alloc_fail_after(0);
  ar_status st = ar_rrf_fuse(lists, lens, 1, 60, &f, &n, &err);
  ar_alloc_fail_after(-1);
  ASSERT(st == AR_ERR_NOMEM);
  ASSERT(f == NULL);
}

TEST(dense_out_of_memory_paths) {
  /* every allocation of prepare and both scans may fail: a clean AR_ERR_NOMEM, no leak, no crash */
  size_t n = 3000;
  int dim = 20;
  float *m = random_matrix(n, dim, 1.0), *q = random_matrix(1, dim, 1.0);
  ar_dense_matrix dm = {.v = m, .n = n, .dim = dim};
  ar_dense_hit h[5];
  size_t nh;
  ar_error err;
  int saw_fail = 0;
  for (long f = 0; f < 40; f++) {
    ar_alloc_fail_after(f);
    ar_status st = ar_dense_prepare(&dm, &err);
    if (st == AR_OK) st = ar_dense_topk_path(&dm, q, 5, NULL, NULL, 1, h, &nh, &err);
    if (st == AR_OK) st = ar_dense_topk_path(&dm, q, 5, NULL, NULL, 0, h, &nh, &err);
    ar_alloc_fail_after(-1);
    ASSERT(st == AR_OK || st == AR_ERR_NOMEM);
    saw_fail |= st == AR_ERR_NOMEM;
    ar_dense_release(&dm);
    if (st == AR_OK) break;
  }
  ASSERT(saw_fail);
  free(m); free(q);
}
