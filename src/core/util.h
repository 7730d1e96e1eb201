/* util.h - internal helpers shared by every stage: errors, allocation, growable buffers, files, time. */
#ifndef AR_UTIL_H
#define AR_UTIL_H
#include "aularag.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sets err (if non-NULL) and returns `status`, so callers can write `return ar_fail(err, ...)`. */
ar_status ar_fail(ar_error *err, ar_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Hands an error met in a local ar_error on to the caller's err (if non-NULL); returns its status. */
ar_status ar_pass(ar_error *err, const ar_error *e);

/* One allocation wrapper (redis zmalloc idea): counts live bytes and can be told to fail the Nth
 * call, so out-of-memory paths are testable. Returns NULL on failure; never aborts. */
void *ar_malloc(size_t n);
void *ar_calloc(size_t n, size_t size);
void *ar_realloc(void *p, size_t n);
char *ar_strdup(const char *s);
char *ar_strndup(const char *s, size_t n);
void ar_free(void *p);
void ar_alloc_fail_after(long n);   /* test hook: the n-th next allocation fails; -1 disables */

/* Growable byte buffer, always NUL-terminated. */
typedef struct ar_buf { char *p; size_t n, cap; int oom; } ar_buf;
int ar_buf_reserve(ar_buf *b, size_t extra);          /* 0 ok, -1 oom (and b->oom set) */
int ar_buf_append(ar_buf *b, const char *s, size_t n);
int ar_buf_puts(ar_buf *b, const char *s);
int ar_buf_printf(ar_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *ar_buf_steal(ar_buf *b);                        /* returns p (never NULL), resets b */
void ar_buf_free(ar_buf *b);

/* Opens a regular file read-only; *size from fstat. Errors name the path. */
ar_status ar_open_file(const char *path, int *fd, size_t *size, ar_error *err);
/* Reads a whole file (NUL-terminated; *len excludes the NUL). */
ar_status ar_read_file(const char *path, char **data, size_t *len, ar_error *err);
/* Writes atomically: temp file in the same folder, fsync, rename. */
ar_status ar_write_file_atomic(const char *path, const char *data, size_t len, ar_error *err);

const char *ar_env(const char *name); /* getenv, NULL when unset or empty */
double ar_now_s(void);   /* monotonic seconds */
int ar_n_cores(void);

/* splitmix64: a small seeded generator whose whole state is *state (no global rand() state). */
uint64_t ar_rng_next(uint64_t *state);
double ar_rng_unit(uint64_t *state); /* uniform in [0, 1) */

/* Appends s[0..n) with each byte that is not part of a valid UTF-8 sequence replaced by U+FFFD. */
int ar_buf_append_utf8(ar_buf *b, const char *s, size_t n);

/* Shortest decimal form that reads back as the same double ("0.1", "7", "nan", "inf"). */
void ar_format_double(double v, char out[32]);
/* Newlines to spaces, CRs dropped, ends trimmed (report fields are one line each). malloc'd. */
char *ar_one_line(const char *s);
/* The same, but an integral value keeps ".0" (Python's repr: the report format's scores are printed so). */
void ar_format_real(double v, char out[32]);

/* UTF-8: length of the valid sequence at s (1..4), or 0 if invalid/truncated (n bytes available). */
int ar_utf8_len(const unsigned char *s, size_t n);
/* Writes code point cp (<= 0x10FFFF) as UTF-8 into out; returns the length (1..4). */
int ar_utf8_encode(unsigned cp, char out[4]);
/* Largest prefix length <= n that does not cut a UTF-8 sequence. */
size_t ar_utf8_clip(const char *s, size_t n);

#define AR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define AR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define AR_MAX(a, b) ((a) > (b) ? (a) : (b))
#endif
