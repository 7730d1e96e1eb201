/* failwrite.c - LD_PRELOAD fault injection: a disk that fills up. Once AULARAG_FAULT_BYTES bytes have
 * been written to regular files (stdout, pipes and sockets do not count), write, pwrite, writev and
 * their 64-bit forms write a short count and then fail with ENOSPC; with AULARAG_FAULT_FSYNC=1, fsync
 * and fdatasync fail with EIO from then on too. Built by tests/integration/test_faults.py:
 *   cc -shared -fPIC -o libfailwrite.so tests/tools/failwrite.c -ldl
 * (under ASan, run with ASAN_OPTIONS=verify_asan_link_order=0). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static atomic_llong left = -2;   /* bytes still allowed; -1 unlimited; -2 not read yet */

static long long budget(void) {
  long long v = atomic_load(&left);
  if (v == -2) {
    const char *s = getenv("AULARAG_FAULT_BYTES");
    long long want = s && *s ? atoll(s) : -1;
    long long expect = -2;
    atomic_compare_exchange_strong(&left, &expect, want);
    v = atomic_load(&left);
  }
  return v;
}

static int counted(int fd) {
  struct stat st;
  return fd > 2 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* How many of n bytes may go to fd now; -1 (errno ENOSPC) when none. Takes them off the budget. */
static ssize_t take(int fd, size_t n) {
  if (!counted(fd)) return (ssize_t)n;
  for (;;) {
    long long v = budget();
    if (v < 0) return (ssize_t)n;
    if (v == 0 && n > 0) { errno = ENOSPC; return -1; }
    long long k = (long long)n < v ? (long long)n : v;
    if (atomic_compare_exchange_weak(&left, &v, v - k)) return (ssize_t)k;
  }
}

static int full(void) { return budget() == 0; }

#define REAL(name) static __typeof__(name) *real; if (!real) real = (__typeof__(name) *)dlsym(RTLD_NEXT, #name)

ssize_t write(int fd, const void *p, size_t n) {
  REAL(write);
  ssize_t k = take(fd, n);
  return k < 0 ? -1 : real(fd, p, (size_t)k);
}
ssize_t pwrite(int fd, const void *p, size_t n, off_t off) {
  REAL(pwrite);
  ssize_t k = take(fd, n);
  return k < 0 ? -1 : real(fd, p, (size_t)k, off);
}
ssize_t pwrite64(int fd, const void *p, size_t n, off64_t off) {
  REAL(pwrite64);
  ssize_t k = take(fd, n);
  return k < 0 ? -1 : real(fd, p, (size_t)k, off);
}
/* vectored writes: all or nothing (enough for what SQLite and stdio do) */
static size_t iov_len(const struct iovec *v, int n) {
  size_t s = 0;
  for (int i = 0; i < n; i++) s += v[i].iov_len;
  return s;
}
static ssize_t vec_take(int fd, const struct iovec *v, int n) {
  size_t want = iov_len(v, n);
  ssize_t k = take(fd, want);
  if (k >= 0 && (size_t)k < want) { errno = ENOSPC; return -1; }   /* the budget is 0 now */
  return k;
}
ssize_t writev(int fd, const struct iovec *v, int n) {
  REAL(writev);
  return vec_take(fd, v, n) < 0 ? -1 : real(fd, v, n);
}
ssize_t pwritev(int fd, const struct iovec *v, int n, off_t off) {
  REAL(pwritev);
  return vec_take(fd, v, n) < 0 ? -1 : real(fd, v, n, off);
}
int fsync(int fd) {
  REAL(fsync);
  const char *s = getenv("AULARAG_FAULT_FSYNC");
  if (s && *s == '1' && full() && counted(fd)) { errno = EIO; return -1; }
  return real(fd);
}
int fdatasync(int fd) {
  REAL(fdatasync);
  const char *s = getenv("AULARAG_FAULT_FSYNC");
  if (s && *s == '1' && full() && counted(fd)) { errno = EIO; return -1; }
  return real(fd);
}
