/* dense.c - exact top-k inner product: an fp32 AVX2 scan, or an int8 scan whose provable error bound
 * keeps a few candidates that are rescored in fp32; a partial-sort heap; rows split over a thread pool.
 *
 * Why int8: a 1M x 384 fp32 matrix is 1.5 GB and one query must read all of it, so the scan is bound by
 * memory bandwidth. The int8 copy is 4x smaller. For a row x with x = s_x*xq + e (s_x per row) and the
 * query q = s_q*qq + f (qq int16), the exact identity
 *     q.x = s_q*s_x*(qq.xq) + s_q*(qq.e) + f.x
 * and Cauchy-Schwarz give |q.x - s_q*s_x*(qq.xq)| <= s_q*|qq|*|e| + |f|*|x|. Adding the rounding bound of
 * the fp32 dot product (gamma_dim*|q|*|x|), every row's fp32 score lies in [lower, upper]. Rows whose
 * upper bound is below the k-th largest lower bound cannot be in the top k; the rest are rescored with the
 * same fp32 kernel as the plain scan, so both paths return identical hits. */
#include "index/dense.h"
#include "core/util.h"
#include "core/pool.h"
#include <float.h>
#include <math.h>
#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define AR_DENSE_AVX2 1
#endif

enum {
  PAR_MIN_ROWS = AR_DENSE_PAR_MIN_ROWS,
  ROWS_PER_THREAD = 25000,
  Q8_MAX_DIM = 8192,      /* keeps the int32 lanes of the int8 x int16 dot product from overflowing */
  Q16_MAX = 8191          /* query quantised to 14 bits: its share of the bound is negligible */
};

/* ---- kernels ---------------------------------------------------------------------------------- */

float ar_dense_dot(const float *a, const float *b, int dim) {
#ifdef AR_DENSE_AVX2
  __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(),
         s3 = _mm256_setzero_ps();
  int i = 0;
  for (; i + 32 <= dim; i += 32) {
    s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
    s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
    s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
  }
  for (; i + 8 <= dim; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
  if (i < dim) {  /* tail: the first dim-i lanes; masked lanes are not read */
    static const int32_t lanes[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    __m256i mask = _mm256_loadu_si256((const __m256i *)(lanes + 8 - (dim - i)));
    s1 = _mm256_fmadd_ps(_mm256_maskload_ps(a + i, mask), _mm256_maskload_ps(b + i, mask), s1);
  }
  __m256 s = _mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3));
  __m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));
  h = _mm_add_ps(h, _mm_movehl_ps(h, h));
  h = _mm_add_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
#else
  float s[8] = {0};
  for (int i = 0; i < dim; i++) s[i & 7] += a[i] * b[i];
  return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
#endif
}

/* Exact integer dot product of an int8 row and an int16 query, both zero padded to stride (x32). */
static inline int64_t dot_i8_i16(const int8_t *x, const int16_t *q, int stride) {
#ifdef AR_DENSE_AVX2
  __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
  for (int i = 0; i < stride; i += 32) {
    __m256i x0 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + i)));
    __m256i x1 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)(x + i + 16)));
    s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(x0, _mm256_load_si256((const __m256i *)(q + i))));
    s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(x1, _mm256_load_si256((const __m256i *)(q + i + 16))));
  }
  __m256i s = _mm256_add_epi32(s0, s1);
  int32_t l[8];
  _mm256_storeu_si256((__m256i *)l, s);
  return (int64_t)l[0] + l[1] + l[2] + l[3] + l[4] + l[5] + l[6] + l[7];
#else
  int64_t s = 0;
  for (int i = 0; i < stride; i++) s += (int32_t)x[i] * q[i];
  return s;
#endif
}

uint64_t ar_dense_hash(const void *p, size_t n, uint64_t seed) {
  const unsigned char *b = p;
  const uint64_t k = 0x9E3779B97F4A7C15ull, mul = 0xFF51AFD7ED558CCDull;
  /* 8 independent lanes of h = rotl(h ^ w, 29) * mul: the multiplies overlap, ~10 GB/s */
  uint64_t h0 = seed ^ k, h1 = seed + k, h2 = seed ^ (k >> 1), h3 = seed - k, h4 = ~h0, h5 = ~h1, h6 = ~h2, h7 = ~h3;
  size_t i = 0;
#define AR_LANE(h, o) do { uint64_t w; memcpy(&w, b + i + (o), 8); h ^= w; h = (h << 29 | h >> 35) * mul; } while (0)
  for (; i + 64 <= n; i += 64) {
    AR_LANE(h0, 0); AR_LANE(h1, 8); AR_LANE(h2, 16); AR_LANE(h3, 24);
    AR_LANE(h4, 32); AR_LANE(h5, 40); AR_LANE(h6, 48); AR_LANE(h7, 56);
  }
#undef AR_LANE
  uint64_t l[8] = {h0, h1, h2, h3, h4, h5, h6, h7}, r = (uint64_t)n * k;
  for (int j = 0; j < 8; j++) r = (r ^ l[j]) * mul, r ^= r >> 32;
  for (; i < n; i++) r = (r ^ b[i]) * mul, r ^= r >> 31;
  return r ^ (r >> 29);
}

/* ---- heaps ------------------------------------------------------------------------------------ */

/* a ranks below b: lower score, or equal score and larger id. */
static inline int worse(const ar_dense_hit *a, const ar_dense_hit *b) {
  return a->score < b->score || (a->score == b->score && a->id > b->id);
}

static void hit_sift_down(ar_dense_hit *h, size_t n, size_t i) {
  for (;;) {
    size_t l = 2 * i + 1, w = i;
    if (l < n && worse(&h[l], &h[w])) w = l;
    if (l + 1 < n && worse(&h[l + 1], &h[w])) w = l + 1;
    if (w == i) return;
    ar_dense_hit t = h[i]; h[i] = h[w]; h[w] = t;
    i = w;
  }
}

/* Keeps the best k hits; the root is the worst kept. */
static inline void hit_push(ar_dense_hit *h, size_t *n, size_t k, ar_dense_hit x) {
  if (*n < k) {
    size_t i = (*n)++;
    h[i] = x;
    while (i > 0) {
      size_t p = (i - 1) / 2;
      if (!worse(&h[i], &h[p])) break;
      ar_dense_hit t = h[i]; h[i] = h[p]; h[p] = t;
      i = p;
    }
  } else if (worse(&h[0], &x)) {
    h[0] = x;
    hit_sift_down(h, *n, 0);
  }
}

static int cmp_best_first(const void *a, const void *b) {
  const ar_dense_hit *x = a, *y = b;
  if (worse(y, x)) return -1;
  if (worse(x, y)) return 1;
  return 0;
}

/* Min-heap of doubles keeping the k largest (lower bounds of the int8 scan). */
static inline void dbl_push(double *h, size_t *n, size_t k, double x) {
  if (*n < k) {
    size_t i = (*n)++;
    h[i] = x;
    while (i > 0 && h[(i - 1) / 2] > h[i]) {
      size_t p = (i - 1) / 2;
      double t = h[i]; h[i] = h[p]; h[p] = t;
      i = p;
    }
  } else if (x > h[0]) {
    h[0] = x;
    size_t i = 0;
    for (;;) {
      size_t l = 2 * i + 1, w = i;
      if (l < *n && h[l] < h[w]) w = l;
      if (l + 1 < *n && h[l + 1] < h[w]) w = l + 1;
      if (w == i) break;
      double t = h[i]; h[i] = h[w]; h[w] = t;
      i = w;
    }
  }
}

/* ---- the int8 scan copy ------------------------------------------------------------------------ */

static float round_up_f(double v) {
  float f = (float)v;
  if ((double)f < v) f = nextafterf(f, INFINITY);
  return f;
}

/* Row x (max |x_i| = mx) -> int8 o with x ~= s*o; stores s, an upper bound of |x - s*o| and of |x|. */
static void quantize_row(const float *x, int dim, float mx, int8_t *o, float *scale, float *resid, float *norm) {
  float s = mx / 127.0f, inv = s > 0 ? 127.0f / mx : 0;
  double e2 = 0, x2 = 0;
  int i = 0;
#ifdef AR_DENSE_AVX2
  __m256 vs = _mm256_set1_ps(s), vinv = _mm256_set1_ps(inv), lim = _mm256_set1_ps(127);
  __m256d ae = _mm256_setzero_pd(), ax = _mm256_setzero_pd();
  for (; i + 8 <= dim; i += 8) {
    __m256 xv = _mm256_loadu_ps(x + i);
    __m256 rv = _mm256_round_ps(_mm256_mul_ps(xv, vinv), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    rv = _mm256_min_ps(_mm256_max_ps(rv, _mm256_sub_ps(_mm256_setzero_ps(), lim)), lim);
    int32_t t[8];
    _mm256_storeu_si256((__m256i *)t, _mm256_cvtps_epi32(rv));
    for (int j = 0; j < 8; j++) o[i + j] = (int8_t)t[j];
    /* x - s*v in one rounding (FMA), squared and summed in double */
    __m256 e = _mm256_fnmadd_ps(vs, rv, xv);
    __m256d e0 = _mm256_cvtps_pd(_mm256_castps256_ps128(e)), e1 = _mm256_cvtps_pd(_mm256_extractf128_ps(e, 1));
    __m256d x0 = _mm256_cvtps_pd(_mm256_castps256_ps128(xv)), x1 = _mm256_cvtps_pd(_mm256_extractf128_ps(xv, 1));
    ae = _mm256_fmadd_pd(e0, e0, _mm256_fmadd_pd(e1, e1, ae));
    ax = _mm256_fmadd_pd(x0, x0, _mm256_fmadd_pd(x1, x1, ax));
  }
  double t[4];
  _mm256_storeu_pd(t, ae);
  e2 = (t[0] + t[1]) + (t[2] + t[3]);
  _mm256_storeu_pd(t, ax);
  x2 = (t[0] + t[1]) + (t[2] + t[3]);
#endif
  for (; i < dim; i++) {
    float v = nearbyintf(x[i] * inv);
    v = v > 127 ? 127 : v < -127 ? -127 : v;
    o[i] = (int8_t)v;
    double e = (double)x[i] - (double)s * (double)v;   /* exact: float * small int fits a double */
    e2 += e * e;
    x2 += (double)x[i] * x[i];
  }
  *scale = s;
  /* (1 + 1e-6) covers the float rounding of each e (2^-24 relative) and the double sums */
  *resid = round_up_f(sqrt(e2) * (1 + 1e-6));
  *norm = round_up_f(sqrt(x2) * (1 + 1e-6));
}

ar_status ar_dense_prepare(ar_dense_matrix *m, ar_error *err) {
  ar_dense_release(m);
  if (m->dim <= 0 || m->dim > Q8_MAX_DIM)
    return ar_fail(err, AR_ERR_INVALID, "dense: int8 scan supports 1..%d dimensions, not %d", Q8_MAX_DIM, m->dim);
  int stride = (m->dim + 31) / 32 * 32;
  size_t n = m->n;
  int8_t *q8 = ar_calloc(n ? n : 1, (size_t)stride);
  float *scale = ar_malloc((n ? n : 1) * sizeof *scale), *resid = ar_malloc((n ? n : 1) * sizeof *resid),
        *norm = ar_malloc((n ? n : 1) * sizeof *norm);
  if (!q8 || !scale || !resid || !norm) {
    ar_free(q8); ar_free(scale); ar_free(resid); ar_free(norm);
    return ar_fail(err, AR_ERR_NOMEM, "dense: out of memory for the int8 copy of %zu x %d", n, m->dim);
  }
  for (size_t r = 0; r < n; r++) {
    const float *x = m->v + r * (size_t)m->dim;
    float mx = 0;
    int bad = 0;
    for (int i = 0; i < m->dim; i++) {  /* branch-free so it vectorises; NaN fails the <= test */
      float a = fabsf(x[i]);
      bad |= !(a <= FLT_MAX);
      mx = a > mx ? a : mx;
    }
    if (bad) {
      ar_free(q8); ar_free(scale); ar_free(resid); ar_free(norm);
      return ar_fail(err, AR_ERR_INVALID, "dense: row %zu has a non-finite value", r);
    }
    quantize_row(x, m->dim, mx, q8 + r * (size_t)stride, &scale[r], &resid[r], &norm[r]);
  }
  m->q8 = q8;
  m->stride8 = stride;
  m->scale = scale;
  m->resid = resid;
  m->norm = norm;
  return AR_OK;
}

void ar_dense_release(ar_dense_matrix *m) {
  ar_free(m->q8); ar_free(m->scale); ar_free(m->resid); ar_free(m->norm);
  m->q8 = NULL; m->scale = m->resid = m->norm = NULL;
  m->stride8 = 0;
}

/* ---- scans ------------------------------------------------------------------------------------- */

typedef struct q8_query {
  int16_t *q16;          /* stride8, 32-byte aligned */
  double s_q;            /* q ~= s_q * q16 */
  double a, bg;          /* bound(row) = a*resid + bg*norm + margin */
} q8_query;

typedef struct cand { size_t row; double upper; } cand;

typedef struct job {
  const ar_dense_matrix *m;
  const float *q;
  const q8_query *qq;
  const size_t *sel;     /* filtered: the allowed rows, ascending; positions lo..hi index it */
  size_t k, lo, hi;
  size_t bad_row;        /* 1 + a row whose fp32 checksum failed, 0 when none */
  ar_dense_hit *heap;    /* fp32 path: k best */
  double *lb;            /* int8 path: k largest lower bounds */
  cand *c;               /* int8 path: rows that may still be in the top k */
  size_t nh, nc, cap;
  int oom;
} job;

static inline int64_t row_id(const ar_dense_matrix *m, size_t r) { return m->ids ? m->ids[r] : (int64_t)r; }

static void scan_f32(job *j) {
  const ar_dense_matrix *m = j->m;
  for (size_t i = j->lo; i < j->hi; i++) {
    size_t r = j->sel ? j->sel[i] : i;
    if (m->check && ar_dense_row_check(m->v + r * (size_t)m->dim, m->dim) != m->check[r]) {
      j->bad_row = r + 1;
      return;
    }
    float s = ar_dense_dot(m->v + r * (size_t)m->dim, j->q, m->dim);
    if (s != s) s = -INFINITY;
    if (j->nh == j->k && s < j->heap[0].score) continue;   /* the common case: not in the top k */
    hit_push(j->heap, &j->nh, j->k, (ar_dense_hit){row_id(m, r), r, s});
  }
}

static void scan_q8(job *j) {
  const ar_dense_matrix *m = j->m;
  const q8_query *qq = j->qq;
  const double margin = 1e-9;   /* covers the double rounding of a and the bound */
  double t = -INFINITY;         /* k-th largest lower bound so far */
  for (size_t i = j->lo; i < j->hi; i++) {
    size_t r = j->sel ? j->sel[i] : i;
    int64_t d = dot_i8_i16(m->q8 + r * (size_t)m->stride8, qq->q16, m->stride8);
    double a = qq->s_q * (double)m->scale[r] * (double)d;
    double b = qq->a * m->resid[r] + qq->bg * m->norm[r] + margin;
    double up = a + b;
    if (up < t) continue;
    dbl_push(j->lb, &j->nh, j->k, a - b);
    if (j->nh == j->k) t = j->lb[0];
    if (j->nc == j->cap) {  /* drop candidates the threshold has since passed, grow if still full */
      size_t w = 0;
      for (size_t ci = 0; ci < j->nc; ci++)
        if (j->c[ci].upper >= t) j->c[w++] = j->c[ci];
      j->nc = w;
      if (w > j->cap / 2) {
        cand *c = ar_realloc(j->c, 2 * j->cap * sizeof *c);
        if (!c) { j->oom = 1; return; }
        j->c = c;
        j->cap *= 2;
      }
    }
    j->c[j->nc++] = (cand){r, up};
  }
}

/* One chunk of the rows (a pool task). */
static void scan_task(void *ctx, int task, int worker) {
  job *j = (job *)ctx + task;
  if (j->qq) scan_q8(j);
  else scan_f32(j);
}

static ar_status quantize_query(const ar_dense_matrix *m, const float *q, q8_query *out, ar_error *err) {
  int16_t *q16 = aligned_alloc(32, (size_t)m->stride8 * sizeof *q16);
  if (!q16) return ar_fail(err, AR_ERR_NOMEM, "dense: out of memory");
  memset(q16, 0, (size_t)m->stride8 * sizeof *q16);
  float mx = 0;
  for (int i = 0; i < m->dim; i++) mx = fmaxf(mx, fabsf(q[i]));
  float s = mx / (float)Q16_MAX;
  double qq2 = 0, f2 = 0, q2 = 0;
  for (int i = 0; i < m->dim; i++) {
    long v = s > 0 ? lrintf(q[i] / s) : 0;
    if (v > Q16_MAX) v = Q16_MAX;
    if (v < -Q16_MAX) v = -Q16_MAX;
    q16[i] = (int16_t)v;
    double f = (double)q[i] - (double)s * (double)v;
    qq2 += (double)v * v;
    f2 += f * f;
    q2 += (double)q[i] * q[i];
  }
  /* gamma_n = n*u/(1-n*u), u = 2^-24: worst-case relative rounding of an n-term fp32 dot product
   * (any summation order, with or without FMA) against sum |q_i x_i| <= |q||x|. */
  double u = ldexp(1.0, -24), gamma = m->dim * u / (1 - m->dim * u);
  out->q16 = q16;
  out->s_q = s;
  out->a = (double)s * sqrt(qq2) * (1 + 1e-12);
  out->bg = (sqrt(f2) + gamma * sqrt(q2)) * (1 + 1e-12);
  return AR_OK;
}

static ar_status row_fail(const ar_dense_matrix *m, size_t r, ar_error *err) {
  return ar_fail(err, AR_ERR_DB, "dense: the vector of row %zu (id %lld) does not match its checksum", r,
                 (long long)row_id(m, r));
}

static int thread_count(size_t n, const ar_pool *pool) {
  if (n < PAR_MIN_ROWS) return 1;
  int t = ar_pool_threads(pool);
  size_t most = n / ROWS_PER_THREAD;
  if ((size_t)t > most) t = (int)most;
  if (t > 64) t = 64;
  return t < 1 ? 1 : t;
}

/* The rows whose id the filter allows, ascending (*out ar_malloc'd). A bit test per row is a small
 * fraction of a scan, so this costs little even when the filter keeps most rows. */
static ar_status select_rows(const ar_dense_matrix *m, const ar_idfilter *f, size_t **out, size_t *n_out,
                             ar_error *err) {
  size_t n = 0, *sel = ar_malloc((m->n ? m->n : 1) * sizeof *sel);
  if (!sel) return ar_fail(err, AR_ERR_NOMEM, "dense: out of memory");
  for (size_t r = 0; r < m->n; r++) {
    sel[n] = r;
    n += (size_t)ar_idfilter_has(f, row_id(m, r));   /* branch-free: the slot is overwritten when not kept */
  }
  *out = sel;
  *n_out = n;
  return AR_OK;
}

/* The scan over rows sel[0..n) (sel NULL: all m->n rows). */
static ar_status topk_rows(const ar_dense_matrix *m, const size_t *sel, size_t n, const float *q, size_t k,
                           ar_pool *pool, int use_q8, ar_dense_hit *out, size_t *n_out, ar_error *err) {
  *n_out = 0;
  if (k > n) k = n;
  if (k == 0) return AR_OK;
  if (use_q8 && !m->q8) return ar_fail(err, AR_ERR_INVALID, "dense: int8 scan requested but not prepared");
  ar_status st = AR_OK;
  int nt = thread_count(n, pool);
  job jobs[64];
  q8_query qq = {0};
  if (use_q8 && (st = quantize_query(m, q, &qq, err)) != AR_OK) return st;
  memset(jobs, 0, sizeof jobs);
  for (int t = 0; t < nt; t++) {
    job *j = &jobs[t];
    j->m = m; j->q = q; j->k = k; j->sel = sel;
    j->qq = use_q8 ? &qq : NULL;
    j->lo = n * (size_t)t / (size_t)nt;
    j->hi = n * (size_t)(t + 1) / (size_t)nt;
    if (use_q8) {
      j->cap = AR_MAX(4 * k, (size_t)256);
      j->lb = ar_malloc(k * sizeof *j->lb);
      j->c = ar_malloc(j->cap * sizeof *j->c);
      if (!j->lb || !j->c) { st = ar_fail(err, AR_ERR_NOMEM, "dense: out of memory"); goto done; }
    } else {
      j->heap = ar_malloc(k * sizeof *j->heap);
      if (!j->heap) { st = ar_fail(err, AR_ERR_NOMEM, "dense: out of memory"); goto done; }
    }
  }
  ar_pool_run(nt > 1 ? pool : NULL, nt, scan_task, jobs);  /* this thread takes part */
  for (int t = 0; t < nt; t++) {
    if (jobs[t].oom) { st = ar_fail(err, AR_ERR_NOMEM, "dense: out of memory"); goto done; }
    if (jobs[t].bad_row) { st = row_fail(m, jobs[t].bad_row - 1, err); goto done; }
  }

  ar_dense_hit *best = jobs[0].heap;
  size_t nb = 0;
  if (!use_q8) {   /* merge the per-thread heaps into chunk 0's */
    nb = jobs[0].nh;
    for (int t = 1; t < nt; t++)
      for (size_t i = 0; i < jobs[t].nh; i++) hit_push(best, &nb, k, jobs[t].heap[i]);
  } else {
    /* global threshold: the k-th largest lower bound over all rows (each thread kept its k largest) */
    double *lb = ar_malloc((size_t)nt * k * sizeof *lb);
    best = ar_malloc(k * sizeof *best);
    if (!lb || !best) {
      ar_free(lb); ar_free(best);
      st = ar_fail(err, AR_ERR_NOMEM, "dense: out of memory");
      goto done;
    }
    size_t nl = 0;
    for (int t = 0; t < nt; t++)
      for (size_t i = 0; i < jobs[t].nh; i++) dbl_push(lb, &nl, k, jobs[t].lb[i]);
    double thr = lb[0];   /* nl == k: together the chunks hold at least min(k, n) = k rows */
    ar_free(lb);
    jobs[0].heap = best;   /* freed below with the jobs */
    for (int t = 0; t < nt; t++)
      for (size_t i = 0; i < jobs[t].nc; i++) {
        if (jobs[t].c[i].upper < thr) continue;
        size_t r = jobs[t].c[i].row;
        if (m->check && ar_dense_row_check(m->v + r * (size_t)m->dim, m->dim) != m->check[r]) {
          st = row_fail(m, r, err);
          goto done;
        }
        float s = ar_dense_dot(m->v + r * (size_t)m->dim, q, m->dim);
        if (s != s) s = -INFINITY;
        hit_push(best, &nb, k, (ar_dense_hit){row_id(m, r), r, s});
      }
  }
  qsort(best, nb, sizeof *best, cmp_best_first);
  memcpy(out, best, nb * sizeof *out);
  *n_out = nb;
done:
  for (int t = 0; t < nt; t++) {
    ar_free(jobs[t].heap); ar_free(jobs[t].lb); ar_free(jobs[t].c);
  }
  free(qq.q16);
  return st;
}

ar_status ar_dense_topk_path(const ar_dense_matrix *m, const float *q, size_t k, ar_pool *pool,
                             const ar_idfilter *filter, int use_q8, ar_dense_hit *out, size_t *n_out,
                             ar_error *err) {
  if (!filter) return topk_rows(m, NULL, m->n, q, k, pool, use_q8, out, n_out, err);
  size_t *sel, n;
  ar_status st = select_rows(m, filter, &sel, &n, err);
  if (!st) st = topk_rows(m, sel, n, q, k, pool, use_q8, out, n_out, err);
  ar_free(sel);
  return st;
}

ar_status ar_dense_topk(const ar_dense_matrix *m, const float *q, size_t k, ar_pool *pool,
                        const ar_idfilter *filter, ar_dense_hit *out, size_t *n_out, ar_error *err) {
  size_t *sel = NULL, n = m->n;
  ar_status st = filter ? select_rows(m, filter, &sel, &n, err) : AR_OK;
  /* The int8 scan pays off when few rows survive its bound: k small against the rows scanned, and
   * enough of them (a course's few thousand rows are cheaper to score in fp32 directly). */
  int use_q8 = m->q8 != NULL && k * 16 <= n && n >= 4096;
  if (!st) st = topk_rows(m, sel, n, q, k, pool, use_q8, out, n_out, err);
  ar_free(sel);
  return st;
}
