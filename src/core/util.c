/* util.c - errors, the allocation wrapper, byte buffers, whole-file I/O, clocks, UTF-8 bits. */
#include "core/util.h"
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *ar_strerror(ar_status s) {
  switch (s) {
  case AR_OK: return "ok";
  case AR_ERR_IO: return "I/O error";
  case AR_ERR_PARSE: return "malformed input";
  case AR_ERR_NOMEM: return "out of memory";
  case AR_ERR_INVALID: return "invalid argument";
  case AR_ERR_DB: return "database error";
  case AR_ERR_MODEL: return "model error";
  case AR_ERR_HTTP: return "LLM endpoint error";
  case AR_ERR_MISMATCH: return "mismatch";
  case AR_ERR_NOTFOUND: return "not found";
  case AR_ERR_ABORTED: return "aborted";
  case AR_ERR_TIMEOUT: return "timed out";
  }
  return "unknown error";
}

ar_status ar_fail(ar_error *err, ar_status status, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    err->status = status;
  }
  return status;
}

ar_status ar_pass(ar_error *err, const ar_error *e) {
  if (err && err != e) *err = *e;
  return e->status;
}

/* ---- allocation ---- */
static _Atomic long fail_countdown = -1;

static int should_fail(void) {
  long c = atomic_load(&fail_countdown);
  if (c < 0) return 0;
  if (atomic_fetch_sub(&fail_countdown, 1) == 0) return 1;
  return 0;
}
void ar_alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }
void *ar_malloc(size_t n) { return should_fail() ? NULL : malloc(n ? n : 1); }
void *ar_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }
void *ar_realloc(void *p, size_t n) { return should_fail() ? NULL : realloc(p, n ? n : 1); }
void ar_free(void *p) { free(p); }
char *ar_strndup(const char *s, size_t n) {
  char *d = ar_malloc(n + 1);
  if (!d) return NULL;
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}
char *ar_strdup(const char *s) { return s ? ar_strndup(s, strlen(s)) : NULL; }

/* ---- buffers ---- */
int ar_buf_reserve(ar_buf *b, size_t extra) {
  if (b->oom) return -1;
  if (b->n + extra + 1 <= b->cap) return 0;
  size_t cap = b->cap ? b->cap : 64;
  while (cap < b->n + extra + 1) cap *= 2;
  char *p = ar_realloc(b->p, cap);
  if (!p) { b->oom = 1; return -1; }
  b->p = p;
  b->cap = cap;
  b->p[b->n] = 0;   /* keep the "always NUL-terminated" promise even before the first append */
  return 0;
}
int ar_buf_append(ar_buf *b, const char *s, size_t n) {
  if (ar_buf_reserve(b, n)) return -1;
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
  return 0;
}
int ar_buf_puts(ar_buf *b, const char *s) { return ar_buf_append(b, s, strlen(s)); }
int ar_buf_printf(ar_buf *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int need = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (need < 0 || ar_buf_reserve(b, (size_t)need)) return -1;
  va_start(ap, fmt);
  vsnprintf(b->p + b->n, (size_t)need + 1, fmt, ap);
  va_end(ap);
  b->n += (size_t)need;
  return 0;
}
char *ar_buf_steal(ar_buf *b) {
  if (!b->p && ar_buf_reserve(b, 0)) return NULL;
  char *p = b->p;
  *b = (ar_buf){0};
  return p;
}
void ar_buf_free(ar_buf *b) { free(b->p); *b = (ar_buf){0}; }

int ar_buf_append_utf8(ar_buf *b, const char *s, size_t n) {
  if (ar_buf_reserve(b, n)) return -1;
  for (size_t i = 0; i < n;) {
    int l = ar_utf8_len((const unsigned char *)s + i, n - i);
    if (ar_buf_append(b, l ? s + i : "\xEF\xBF\xBD", l ? (size_t)l : 3)) return -1;
    i += l ? (size_t)l : 1;
  }
  return 0;
}

/* ---- files ---- */
ar_status ar_open_file(const char *path, int *fd, size_t *size, ar_error *err) {
  *fd = open(path, O_RDONLY | O_CLOEXEC);
  if (*fd < 0) return ar_fail(err, AR_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
  struct stat st;
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(*fd);
    *fd = -1;
    return ar_fail(err, AR_ERR_IO, "%s: not a regular file", path);
  }
  *size = (size_t)st.st_size;
  return AR_OK;
}

ar_status ar_read_file(const char *path, char **data, size_t *len, ar_error *err) {
  int fd;
  size_t cap, n = 0;
  ar_status s = ar_open_file(path, &fd, &cap, err);
  if (s) return s;
  char *p = ar_malloc(cap + 1);
  if (!p) { close(fd); return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, cap); }
  for (;;) {
    if (n == cap) { /* file grew, or st_size lied (procfs) */
      char *q = ar_realloc(p, cap * 2 + 4096 + 1);
      if (!q) { free(p); close(fd); return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); }
      p = q; cap = cap * 2 + 4096;
    }
    ssize_t r = read(fd, p + n, cap - n);
    if (r < 0) {
      if (errno == EINTR) continue;
      free(p); close(fd);
      return ar_fail(err, AR_ERR_IO, "%s: read error at byte %zu: %s", path, n, strerror(errno));
    }
    if (r == 0) break;
    n += (size_t)r;
  }
  close(fd);
  p[n] = 0;
  *data = p;
  *len = n;
  return AR_OK;
}

ar_status ar_write_file_atomic(const char *path, const char *data, size_t len, ar_error *err) {
  size_t pl = strlen(path);
  char *tmp = ar_malloc(pl + 32);
  if (!tmp) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  snprintf(tmp, pl + 32, "%s.tmp.%d", path, (int)getpid());
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    ar_status s = ar_fail(err, AR_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    free(tmp);
    return s;
  }
  size_t off = 0;
  while (off < len) {
    ssize_t w = write(fd, data + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      ar_status s = ar_fail(err, AR_ERR_IO, "%s: write failed: %s", path, strerror(errno));
      close(fd); unlink(tmp); free(tmp);
      return s;
    }
    off += (size_t)w;
  }
  if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
    ar_status s = ar_fail(err, AR_ERR_IO, "%s: cannot finish writing: %s", path, strerror(errno));
    unlink(tmp); free(tmp);
    return s;
  }
  free(tmp);
  return AR_OK;
}

double ar_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t ar_rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double ar_rng_unit(uint64_t *s) { return (double)(ar_rng_next(s) >> 11) / 9007199254740992.0; }

int ar_n_cores(void) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (int)n : 1;
}

/* ---- UTF-8 ---- */
int ar_utf8_len(const unsigned char *s, size_t n) {
  if (n == 0) return 0;
  unsigned c = s[0];
  if (c < 0x80) return 1;
  int len;
  unsigned min;
  if ((c & 0xE0) == 0xC0) { len = 2; min = 0x80; c &= 0x1F; }
  else if ((c & 0xF0) == 0xE0) { len = 3; min = 0x800; c &= 0x0F; }
  else if ((c & 0xF8) == 0xF0) { len = 4; min = 0x10000; c &= 0x07; }
  else return 0;
  if ((size_t)len > n) return 0;
  for (int i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (s[i] & 0x3F);
  }
  if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF)) return 0;
  return len;
}

int ar_utf8_encode(unsigned c, char u[4]) {
  if (c < 0x80) { u[0] = (char)c; return 1; }
  if (c < 0x800) { u[0] = (char)(0xC0 | c >> 6); u[1] = (char)(0x80 | (c & 0x3F)); return 2; }
  if (c < 0x10000) {
    u[0] = (char)(0xE0 | c >> 12); u[1] = (char)(0x80 | ((c >> 6) & 0x3F)); u[2] = (char)(0x80 | (c & 0x3F));
    return 3;
  }
  u[0] = (char)(0xF0 | c >> 18); u[1] = (char)(0x80 | ((c >> 12) & 0x3F));
  u[2] = (char)(0x80 | ((c >> 6) & 0x3F)); u[3] = (char)(0x80 | (c & 0x3F));
  return 4;
}

size_t ar_utf8_clip(const char *s, size_t n) {
  size_t i = n;
  /* walk back over at most 3 continuation bytes to the lead byte */
  while (i > 0 && n - i < 4 && ((unsigned char)s[i - 1] & 0xC0) == 0x80) i--;
  if (i == 0) return 0;
  unsigned char lead = (unsigned char)s[i - 1];
  if (lead < 0x80) return n;            /* ends in ASCII (no trailing continuation bytes seen) */
  int need = (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 1;
  return (n - (i - 1) >= (size_t)need) ? n : i - 1;
}

const char *ar_env(const char *name) {
  const char *v = getenv(name);
  return v && *v ? v : NULL;
}
