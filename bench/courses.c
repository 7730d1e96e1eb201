/* courses.c - bench driver: scoped (--course) against unscoped search over a synthetic catalog, and
 * against the alternative a user would otherwise pick, one index per course.
 *   courses DIR COURSES VIDEOS SEGMENTS QUERIES
 * Builds DIR/catalog.db (COURSES x VIDEOS x SEGMENTS segments of Zipf-distributed words, vectors from a
 * hash embedder of dim 384) and DIR/one.db (course 0 alone), unless they exist, then times per query
 * (median over QUERIES questions, each cycling over 8+ courses so the filter cache is missed too):
 * lexical and dense, unscoped, scoped with the filter cached, scoped building the filter, and the
 * course-alone index; and building one course's filter alone. Prints one line per case and the ratios
 * to unscoped. */
#include "core/util.h"
#include "index/index.h"
#include "index/vectors.h"
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

enum { DIM = 384, VOCAB = 4000 };

static void text_vec(const char *t, float *v) {
  double s = 0;
  uint64_t h0 = 1469598103934665603ull;
  for (const char *p = t; *p; p++) h0 = (h0 ^ (unsigned char)*p) * 1099511628211ull;
  for (int i = 0; i < DIM; i++) {
    uint64_t st = h0 + (uint64_t)i * 0x9e3779b97f4a7c15ull;
    v[i] = (float)(ar_rng_unit(&st) - 0.5);
    s += (double)v[i] * v[i];
  }
  for (int i = 0; i < DIM; i++) v[i] = (float)(v[i] / sqrt(s));
}

static ar_status embed(void *ctx, ar_embed_kind kind, const char *const *texts, int n, float *out, ar_error *err) {
  (void)ctx; (void)kind; (void)err;
  for (int i = 0; i < n; i++) text_vec(texts[i], out + (size_t)i * DIM);
  return AR_OK;
}
static const ar_embedder fake = {.fingerprint = "bench:hash384", .dim = DIM, .embed = embed};

/* Pronounceable words, so the Portuguese analysis keeps them as distinct terms. */
static void word(int i, char *out) {
  static const char *syl[] = {"ba", "ce", "di", "fo", "gu", "la", "me", "ni", "po", "ru", "sa", "te", "vi", "xo", "za", "lu"};
  int n = 0;
  do { n += sprintf(out + n, "%s", syl[i % 16]); i /= 16; } while (i);
  strcpy(out + n, "m");
}

/* Zipf(1) over the vocabulary by inverse CDF on a precomputed table. */
static double zipf_cdf[VOCAB];
static int zipf(uint64_t *r) {
  double u = ar_rng_unit(r);
  int lo = 0, hi = VOCAB - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (zipf_cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

static int build(const char *path, int courses, int videos, int segs, int only) {
  ar_index *ix;
  ar_error err;
  if (ar_index_open(path, ar_index_default_params(), &ix, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  ar_segments s = {0};
  s.v = calloc((size_t)segs, sizeof *s.v);
  s.n = s.cap = (size_t)segs;
  char w[32], vid[64], course[32];
  for (int c = 0; c < courses; c++) {
    if (only >= 0 && c != only) continue;
    /* each course leans on its own slice of the vocabulary, as real courses do */
    for (int v = 0; v < videos; v++) {
      uint64_t r = (uint64_t)c * 1000003 + (uint64_t)v + 1;
      for (int i = 0; i < segs; i++) {
        ar_buf b = {0};
        for (int k = 0; k < 150; k++) {
          int t = zipf(&r);
          if (ar_rng_unit(&r) < 0.3) t = (t + c * 37) % VOCAB;
          word(t, w);
          ar_buf_printf(&b, "%s ", w);
        }
        s.v[i] = (ar_segment){120.0 * i, 120.0 * i + 120, ar_buf_steal(&b), (size_t)i, 1};
      }
      snprintf(vid, sizeof vid, "c%d-v%d", c, v);
      snprintf(course, sizeof course, "c%d", c);
      ar_video video = {vid, vid, "", "bench", course, NULL};
      if (ar_index_put_video(ix, &video, &s, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
      for (int i = 0; i < segs; i++) free(s.v[i].text);
    }
  }
  free(s.v);
  int64_t n;
  if (ar_vectors_embed_pending_with(ix, &fake, 256, NULL, NULL, &n, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  ar_index_close(ix);
  return 0;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* Median ms per query: course_of(q) gives the scope (NULL: none). */
static double run(ar_index *ix, ar_search_mode mode, const char *const *qs, int nq, int courses, int scope, int *hits) {
  double *t = calloc((size_t)nq, sizeof *t);
  char course[32];
  *hits = 0;
  for (int i = 0; i < nq; i++) {
    ar_search_params sp = ar_search_default_params();
    sp.mode = mode;
    sp.embedder = &fake;
    /* scope 1: course 0 every time (filter cached); 2: cycling over more courses than the cache holds */
    if (scope) {
      snprintf(course, sizeof course, "c%d", scope == 1 ? 0 : (i * 7) % courses);
      sp.course = course;
    }
    ar_results r;
    ar_error err;
    double t0 = ar_now_s();
    if (ar_search(ix, qs[i], &sp, &r, &err)) { fprintf(stderr, "%s\n", err.msg); exit(1); }
    t[i] = (ar_now_s() - t0) * 1000;
    *hits += (int)r.n;
    ar_results_free(&r);
  }
  qsort(t, (size_t)nq, sizeof *t, cmp_d);
  double m = t[nq / 2];
  free(t);
  return m;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: %s DIR COURSES VIDEOS SEGMENTS QUERIES\n", argv[0]);
    return 2;
  }
  int courses = atoi(argv[2]), videos = atoi(argv[3]), segs = atoi(argv[4]), nq = atoi(argv[5]);
  double sum = 0;
  for (int i = 0; i < VOCAB; i++) zipf_cdf[i] = (sum += 1.0 / (i + 1));
  for (int i = 0; i < VOCAB; i++) zipf_cdf[i] /= sum;
  char cat[1024], one[1024];
  snprintf(cat, sizeof cat, "%s/catalog.db", argv[1]);
  snprintf(one, sizeof one, "%s/one.db", argv[1]);
  struct stat sb;
  double t0 = ar_now_s();
  if (stat(cat, &sb) && build(cat, courses, videos, segs, -1)) return 1;
  if (stat(one, &sb) && build(one, courses, videos, segs, 0)) return 1;
  fprintf(stderr, "indexes ready in %.1f s\n", ar_now_s() - t0);
  /* questions: 3 words each, from the common-to-rare middle of the vocabulary */
  char **qs = calloc((size_t)nq, sizeof *qs);
  uint64_t r = 42;
  for (int i = 0; i < nq; i++) {
    char a[32], b[32], c[32];
    word(5 + (int)(ar_rng_next(&r) % 200), a);
    word(50 + (int)(ar_rng_next(&r) % 1000), b);
    word(200 + (int)(ar_rng_next(&r) % 2000), c);
    qs[i] = malloc(100);
    snprintf(qs[i], 100, "%s %s %s", a, b, c);
  }
  ar_index_params ip = ar_index_default_params();
  ip.read_only = 1;
  ar_index *ix, *ox;
  ar_error err;
  if (ar_index_open(cat, ip, &ix, &err) || ar_index_open(one, ip, &ox, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
  ar_index_info info;
  ar_index_info_get(ix, &info, &err);
  printf("catalog: %d courses, %lld videos, %lld segments (course alone: %d videos, %d segments); %d questions, k=10\n",
         courses, (long long)info.n_videos, (long long)info.n_segments, videos, videos * segs, nq);
  /* the filter alone: a course's corpus ids read through videos_course into a bitmap */
  {
    double *t = calloc((size_t)courses, sizeof *t);
    char course[32];
    for (int c = 0; c < courses; c++) {
      snprintf(course, sizeof course, "c%d", c);
      const ar_idfilter *f;
      sqlite3_exec(ix->db, "BEGIN", NULL, NULL, NULL);
      ar_courses_invalidate(ix);
      double tb = ar_now_s();
      if (ar_course_filter(ix, course, &f, &err)) { fprintf(stderr, "%s\n", err.msg); return 1; }
      t[c] = (ar_now_s() - tb) * 1000;
      sqlite3_exec(ix->db, "COMMIT", NULL, NULL, NULL);
    }
    qsort(t, (size_t)courses, sizeof *t, cmp_d);
    printf("filter   building one course's filter %.3f ms (median of %d courses)\n", t[courses / 2], courses);
    free(t);
  }
  const ar_search_mode modes[] = {AR_MODE_LEXICAL, AR_MODE_DENSE};
  for (int m = 0; m < 2; m++) {
    int h0, h1, h2, h3;
    run(ix, modes[m], (const char *const *)qs, nq < 5 ? nq : 5, courses, 0, &h0);   /* warm: page cache, matrix */
    run(ix, modes[m], (const char *const *)qs, nq < 5 ? nq : 5, courses, 1, &h0);
    run(ox, modes[m], (const char *const *)qs, nq < 5 ? nq : 5, courses, 0, &h0);
    double all = run(ix, modes[m], (const char *const *)qs, nq, courses, 0, &h0);
    double warm = run(ix, modes[m], (const char *const *)qs, nq, courses, 1, &h1);
    double cold = run(ix, modes[m], (const char *const *)qs, nq, courses, 2, &h2);
    double alone = run(ox, modes[m], (const char *const *)qs, nq, courses, 0, &h3);
    const char *name = ar_search_mode_name(modes[m]);
    printf("%-8s unscoped             %8.3f ms  (%d hits)\n", name, all, h0);
    printf("%-8s --course, cached     %8.3f ms  (%d hits)  %.2fx unscoped\n", name, warm, h1, warm / all);
    printf("%-8s --course, new filter %8.3f ms  (%d hits)  %.2fx unscoped\n", name, cold, h2, cold / all);
    printf("%-8s one index per course %8.3f ms  (%d hits)  --course cached is %.2fx of it\n", name, alone, h3, warm / alone);
  }
  ar_index_close(ix);
  ar_index_close(ox);
  for (int i = 0; i < nq; i++) free(qs[i]);
  free(qs);
  return 0;
}
