/* fuzz.h - what the fuzz targets share: a reader that takes typed values off the front of the input
 * (libFuzzer's FuzzedDataProvider, in C) and scratch files for entry points that read a path. */
#ifndef AR_FUZZ_H
#define AR_FUZZ_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct fz { const uint8_t *p; size_t n; } fz;

static inline unsigned fz_byte(fz *f) {
  if (!f->n) return 0;
  f->n--;
  return *f->p++;
}
/* A value in [0, n) (n <= 65536). */
static inline unsigned fz_pick(fz *f, unsigned n) {
  unsigned v = fz_byte(f);
  if (n > 256) v = v << 8 | fz_byte(f);
  return n ? v % n : 0;
}
/* Up to max bytes: a length byte, then that many bytes (fewer at the end of the input). */
static inline size_t fz_bytes(fz *f, size_t max, const uint8_t **out) {
  size_t k = fz_pick(f, (unsigned)max + 1);
  if (k > f->n) k = f->n;
  *out = f->p;
  f->p += k;
  f->n -= k;
  return k;
}

/* A private directory for the process (TMPDIR or /tmp), made once; files written under it. */
static inline const char *fz_dir(void) {
  static char dir[256];
  if (!dir[0]) {
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/aularag-fuzz-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) abort();
  }
  return dir;
}
static inline const char *fz_write(const char *name, const void *p, size_t n) {
  static char path[4][512];
  static int k;
  k = (k + 1) % 4;
  snprintf(path[k], sizeof path[k], "%s/%s", fz_dir(), name);
  FILE *f = fopen(path[k], "wb");
  if (!f) abort();
  if (n && fwrite(p, 1, n, f) != n) abort();
  fclose(f);
  return path[k];
}
#endif
