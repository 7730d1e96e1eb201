/* test_attention_bf16.c - the int8 mode's bf16 attention (attention_bf16.c) against softmax(s q k^T) v
 * in double, within a bound derived from bf16's rounding (2^-9 relative per operand), for sequence
 * lengths and head sizes around the tile edges (odd, < 16, > 12 rows, partial panels); and bitwise the
 * same whatever else the scratch held. Skipped on CPUs without AVX512_BF16. */
#include "test.h"
#include "core/util.h"
#include "model/model.h"
#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double urand(void) { return ar_rng_unit(&rng_state) * 2.0 - 1.0; } /* [-1, 1) */

static int check(int n, int d, double spread) {
  size_t H = (size_t)d + 3, ld = 3 * H; /* q, k, v interleaved in rows of 3H, as in the forward pass */
  float *qkv = calloc((size_t)n * ld, sizeof(float)), *o = calloc((size_t)n * H, sizeof(float));
  float *o2 = calloc((size_t)n * H, sizeof(float));
  size_t bytes = ar_attention_bf16_bytes(n, d);
  unsigned char *w = malloc(bytes);
  double *s = malloc((size_t)n * sizeof(double));
  int bad = !qkv || !o || !o2 || !w || !s;
  for (size_t i = 0; !bad && i < (size_t)n * ld; i++) qkv[i] = (float)(spread * urand());
  float scale = 1.0f / sqrtf((float)d);
  if (!bad) {
    memset(w, 0, bytes);
    ar_attention_bf16(qkv, qkv + H, qkv + 2 * H, ld, n, d, scale, o, H, w);
    memset(w, 0xA5, bytes); /* garbage in the scratch (NaN patterns included) changes nothing */
    ar_attention_bf16(qkv, qkv + H, qkv + 2 * H, ld, n, d, scale, o2, H, w);
    for (int i = 0; i < n && !bad; i++)
      if (memcmp(o + (size_t)i * H, o2 + (size_t)i * H, (size_t)d * sizeof(float))) {
        fprintf(stderr, "  n %d d %d: row %d depends on the scratch's old contents\n", n, d, i);
        bad = 1;
      }
  }
  const double u = 1.0 / 512; /* bf16: 8 bits of mantissa, rounded to nearest */
  for (int i = 0; i < n && !bad; i++) {
    const float *q = qkv + (size_t)i * ld;
    double mx = -INFINITY, sum = 0, es = 0;
    for (int j = 0; j < n; j++) {
      const float *k = qkv + (size_t)j * ld + H;
      double acc = 0, mag = 0;
      for (int c = 0; c < d; c++) { acc += (double)q[c] * k[c]; mag += fabs((double)q[c] * k[c]); }
      s[j] = scale * acc;
      es = fmax(es, scale * mag * (2 * u + u * u) + 1e-6 * scale * mag); /* q and k rounded; fp32 sums */
      mx = fmax(mx, s[j]);
    }
    for (int j = 0; j < n; j++) sum += (s[j] = exp(s[j] - mx));
    for (int c = 0; c < d && !bad; c++) {
      double want = 0, mag = 0;
      for (int j = 0; j < n; j++) {
        double v = qkv[(size_t)j * ld + 2 * H + c];
        want += s[j] / sum * v;
        mag += s[j] / sum * fabs(v);
      }
      /* each probability off by (1 + 2 es) (scores, and the sum), then rounded; each value rounded */
      double bound = mag * (exp(2 * es) - 1 + 3 * u) + 1e-6;
      double got = o[(size_t)i * H + c];
      if (!(fabs(got - want) <= bound)) {
        fprintf(stderr, "  n %d d %d spread %g: o[%d,%d] = %.7g, want %.7g, bound %.3g\n", n, d, spread, i, c, got, want,
                bound);
        bad = 1;
      }
    }
  }
  free(qkv); free(o); free(o2); free(w); free(s);
  return bad;
}

TEST(attention_bf16_matches_double_softmax) {
  if (!ar_attention_bf16_available()) {
    fprintf(stderr, "  (skipped: this CPU has no AVX512_BF16)\n");
    return;
  }
  static const int ns[] = {1, 2, 3, 12, 13, 16, 17, 31, 33, 100};
  static const int ds[] = {1, 7, 16, 31, 32, 33, 64};
  for (size_t a = 0; a < AR_ARRAY_LEN(ns); a++)
    for (size_t b = 0; b < AR_ARRAY_LEN(ds); b++) {
      ASSERT_MSG(!check(ns[a], ds[b], 1.0), "n %d d %d", ns[a], ds[b]);
      ASSERT_MSG(!check(ns[a], ds[b], 6.0), "n %d d %d (sharp attention)", ns[a], ds[b]);
    }
  ASSERT(!check(448, 32, 2.0)); /* e5-small's head on a whole passage */
}
