/* test.h - a tiny self-registering test framework (in the spirit of redis' testhelp.h).
 *
 *   TEST(parse_srt_bom) { ASSERT(x == 1); ASSERT_EQ_INT(a, b); ASSERT_STREQ(s, "x"); }
 *
 * Each TEST registers itself at load time; tests/unit/main.c runs them all (or those whose
 * name contains argv[1]) and prints "N passed, N failed". Slow cases check test_slow(). */
#ifndef AR_TEST_H
#define AR_TEST_H
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <math.h>

typedef void (*test_fn)(void);
void test_register(const char *name, const char *file, test_fn fn);
extern int test_failed_current; /* set by ASSERT failures in the running test */
int test_slow(void);            /* AULARAG_SLOW=1 */
double test_time_scale(void);   /* AULARAG_TEST_TIME_SCALE (>= 1, default 1): multiplies time limits (emulation) */
/* Path to ../shared/data (or $AULARAG_DATA); NULL with a message when absent. */
const char *test_data_dir(void);
/* A fresh temporary directory for this test (removed at exit). */
const char *test_tmpdir(void);

#define TEST(name)                                                         \
  static void test_##name(void);                                           \
  __attribute__((constructor)) static void test_reg_##name(void) {         \
    test_register(#name, __FILE__, test_##name);                           \
  }                                                                        \
  static void test_##name(void)

#define ASSERT(cond) do { if (!(cond)) {                                   \
    fprintf(stderr, "  %s:%d: assertion failed: %s\n", __FILE__, __LINE__, #cond); \
    test_failed_current = 1; return; } } while (0)
#define ASSERT_MSG(cond, ...) do { if (!(cond)) {                          \
    fprintf(stderr, "  %s:%d: assertion failed: %s: ", __FILE__, __LINE__, #cond); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr);                    \
    test_failed_current = 1; return; } } while (0)
#define ASSERT_EQ_INT(a, b) do { long long _a = (long long)(a), _b = (long long)(b); \
    if (_a != _b) { fprintf(stderr, "  %s:%d: %s == %s failed: %lld != %lld\n", \
      __FILE__, __LINE__, #a, #b, _a, _b); test_failed_current = 1; return; } } while (0)
#define ASSERT_STREQ(a, b) do { const char *_a = (a), *_b = (b);           \
    if (!_a || !_b || strcmp(_a, _b) != 0) { fprintf(stderr,                \
      "  %s:%d: %s == %s failed:\n    got:      \"%s\"\n    expected: \"%s\"\n", \
      __FILE__, __LINE__, #a, #b, _a ? _a : "(null)", _b ? _b : "(null)"); \
      test_failed_current = 1; return; } } while (0)
#define ASSERT_NEAR(a, b, tol) do { double _a = (a), _b = (b);             \
    if (!(fabs(_a - _b) <= (tol))) { fprintf(stderr, "  %s:%d: |%s - %s| <= %g failed: %.9g vs %.9g\n", \
      __FILE__, __LINE__, #a, #b, (double)(tol), _a, _b); test_failed_current = 1; return; } } while (0)
#endif
