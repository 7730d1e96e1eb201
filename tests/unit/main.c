/* main.c - runs every registered unit test; prints "N passed, N failed". */
#include "test.h"
#include "aularag.h"
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>
#include <ftw.h>

typedef struct { const char *name, *file; test_fn fn; } test_case;
static test_case *cases;
static int n_cases, cap_cases;
int test_failed_current;
static char tmp_root[256];

void test_register(const char *name, const char *file, test_fn fn) {
  if (n_cases == cap_cases) {
    cap_cases = cap_cases ? cap_cases * 2 : 64;
    cases = realloc(cases, (size_t)cap_cases * sizeof *cases);
    if (!cases) abort();
  }
  cases[n_cases++] = (test_case){name, file, fn};
}

int test_slow(void) { const char *s = getenv("AULARAG_SLOW"); return s && *s && *s != '0'; }

double test_time_scale(void) {
  const char *s = getenv("AULARAG_TEST_TIME_SCALE");
  double v = s ? atof(s) : 1.0;
  return v > 1.0 ? v : 1.0;
}

const char *test_data_dir(void) {
  static char buf[1024];
  const char *env = getenv("AULARAG_DATA");
  if (env && *env) return env;
  const char *cands[] = {"../shared/data", "../../shared/data", "../../../shared/data"};
  for (size_t i = 0; i < sizeof cands / sizeof *cands; i++) {
    struct stat st;
    if (stat(cands[i], &st) == 0 && S_ISDIR(st.st_mode)) {
      if (!realpath(cands[i], buf)) continue;
      return buf;
    }
  }
  fprintf(stderr, "  shared data not found: set AULARAG_DATA or put ../shared/data beside the checkout\n");
  return NULL;
}

static int rm_cb(const char *p, const struct stat *s, int f, struct FTW *w) {
  (void)s; (void)f; (void)w; return remove(p);
}

const char *test_tmpdir(void) {
  static char dir[512];
  static int seq;
  snprintf(dir, sizeof dir, "%s/t%d", tmp_root, seq++);
  mkdir(dir, 0700);
  return dir;
}

static int cmp_case(const void *a, const void *b) {
  const test_case *x = a, *y = b;
  int c = strcmp(x->file, y->file);
  return c ? c : strcmp(x->name, y->name);
}

int main(int argc, char **argv) {
  ar_blas_single_thread();  /* as the CLI: the encoder's pool owns the cores */
  signal(SIGPIPE, SIG_IGN);  /* as any program serving sockets (the library no longer does it) */
  snprintf(tmp_root, sizeof tmp_root, "/tmp/aularag-test-XXXXXX");
  if (!mkdtemp(tmp_root)) { perror("mkdtemp"); return 1; }
  qsort(cases, (size_t)n_cases, sizeof *cases, cmp_case);
  int passed = 0, failed = 0;
  for (int i = 0; i < n_cases; i++) {
    if (argc > 1 && !strstr(cases[i].name, argv[1])) continue;
    test_failed_current = 0;
    cases[i].fn();
    if (test_failed_current) { failed++; printf("FAIL %s (%s)\n", cases[i].name, cases[i].file); }
    else { passed++; if (getenv("AULARAG_VERBOSE")) printf("ok   %s\n", cases[i].name); }
    fflush(stdout);
  }
  nftw(tmp_root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
  free(cases);
  printf("unit: %d passed, %d failed\n", passed, failed);
  return failed ? 1 : 0;
}
