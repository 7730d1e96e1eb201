/* vecfile.c - the vector section file: a 4 KiB header, then ids, per-row checksums, the int8 scan copy's
 * scales and bounds, the int8 rows and (page aligned) the fp32 rows, each in the layout ar_dense_matrix
 * points at, so mapping the file is the whole load. The header and everything a scan reads in full
 * (all but the fp32 rows) are checksummed and checked at map time; a fp32 row is checked when a scan
 * reads it (ar_dense_matrix.check), so the ~4x larger fp32 part is never read at startup and only the
 * rows a query rescores become resident. Written to a temp file and renamed: readers see the old file
 * or the new one, and a mapping stays valid after the file is replaced. No fsync: a torn file (power
 * loss) fails its checksums and is rebuilt from SQLite. */
#include "index/vecfile.h"
#include "core/util.h"
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define VF_MAGIC "ARVECS01"
#define VF_HEADER 4096
#define VF_ENDIAN 0x01020304u

typedef struct vf_header {
  char magic[8];
  uint32_t endian, dim;
  uint64_t n, uid;
  int64_t gen;
  uint32_t stride8, pad;
  uint64_t off_ids, off_check, off_scale, off_resid, off_norm, off_q8, off_v, size;
  uint64_t body_hash;    /* over [off_ids, off_v): everything but the fp32 rows */
  char model[256];
  uint64_t header_hash;  /* over the bytes above */
} vf_header;

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

/* The one layout, for writing and for checking a header's offsets. */
static void layout(vf_header *h) {
  uint64_t n = h->n;
  h->off_ids = VF_HEADER;
  h->off_check = align_up(h->off_ids + 8 * n, 64);
  h->off_scale = align_up(h->off_check + 4 * n, 64);
  h->off_resid = align_up(h->off_scale + 4 * n, 64);
  h->off_norm = align_up(h->off_resid + 4 * n, 64);
  h->off_q8 = align_up(h->off_norm + 4 * n, 64);
  h->off_v = align_up(h->off_q8 + n * h->stride8, 4096);
  h->size = h->off_v + 4 * n * h->dim;
}

static uint64_t header_hash(const vf_header *h) { return ar_dense_hash(h, offsetof(vf_header, header_hash), 1); }

static uint64_t body_hash(const unsigned char *base, const vf_header *h) {
  return ar_dense_hash(base + h->off_ids, h->off_v - h->off_ids, 2);
}

static int write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n) {
    ssize_t w = write(fd, c, n > (1u << 30) ? (1u << 30) : n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    c += w;
    n -= (size_t)w;
  }
  return 0;
}

ar_status ar_vecfile_write(const char *path, const ar_dense_matrix *m, const ar_vecstamp *st, ar_error *err) {
  if (!m->q8 || !m->check || !m->ids)
    return ar_fail(err, AR_ERR_INVALID, "%s: the matrix is not prepared for a vector section", path);
  vf_header h;
  memset(&h, 0, sizeof h);
  memcpy(h.magic, VF_MAGIC, 8);
  h.endian = VF_ENDIAN;
  h.dim = (uint32_t)m->dim;
  h.n = m->n;
  h.uid = st->uid;
  h.gen = st->gen;
  h.stride8 = (uint32_t)m->stride8;
  snprintf(h.model, sizeof h.model, "%s", st->model);
  layout(&h);
  /* the checksummed body, laid out as in the file (it is ~n*(dim+32) bytes: the fp32 rows stream after) */
  size_t body = h.off_v - h.off_ids;
  unsigned char *b = ar_calloc(1, body ? body : 1);
  if (!b) return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory writing the vector section", path);
  size_t n = m->n;
  memcpy(b + (h.off_ids - VF_HEADER), m->ids, 8 * n);
  memcpy(b + (h.off_check - VF_HEADER), m->check, 4 * n);
  memcpy(b + (h.off_scale - VF_HEADER), m->scale, 4 * n);
  memcpy(b + (h.off_resid - VF_HEADER), m->resid, 4 * n);
  memcpy(b + (h.off_norm - VF_HEADER), m->norm, 4 * n);
  memcpy(b + (h.off_q8 - VF_HEADER), m->q8, n * (size_t)m->stride8);
  h.body_hash = ar_dense_hash(b, body, 2);
  h.header_hash = header_hash(&h);
  unsigned char page[VF_HEADER] = {0};
  memcpy(page, &h, sizeof h);

  size_t pl = strlen(path);
  char *tmp = ar_malloc(2 * pl + 32), *dir = tmp ? tmp + pl + 24 : NULL;
  if (!tmp) { ar_free(b); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  sprintf(tmp, "%s.tmp%ld", path, (long)getpid());
  memcpy(dir, path, pl + 1);
  char *slash = strrchr(dir, '/');
  if (slash) slash[slash == dir] = 0;
  else strcpy(dir, ".");
  /* an unnamed file while it is written (a killed writer leaves nothing behind), named at the end;
   * a plain temp file where the file system has no O_TMPFILE */
  int named = 0, fd = open(dir, O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
  if (fd < 0) named = 1, fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ar_status s = AR_OK;
  if (fd < 0) s = ar_fail(err, AR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
  else if (write_all(fd, page, VF_HEADER) || write_all(fd, b, body) ||
           write_all(fd, m->v, 4 * n * (size_t)m->dim))
    s = ar_fail(err, AR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
  if (!s && !named) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    unlink(tmp);   /* a leftover of a killed writer with our pid */
    if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW))
      s = ar_fail(err, AR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
    else named = 1;
  }
  if (fd >= 0 && close(fd) && !s) s = ar_fail(err, AR_ERR_IO, "%s: cannot write: %s", tmp, strerror(errno));
  if (!s && rename(tmp, path)) s = ar_fail(err, AR_ERR_IO, "%s: cannot rename into place: %s", path, strerror(errno));
  if (s && named) unlink(tmp);
  ar_free(tmp);
  ar_free(b);
  return s;
}

/* Reads and checks the header: magic, byte order, its checksum, the layout for its n/dim. */
static ar_status read_header(int fd, size_t size, const char *path, vf_header *h, ar_error *err) {
  if (size < VF_HEADER || pread(fd, h, sizeof *h, 0) != (ssize_t)sizeof *h)
    return ar_fail(err, AR_ERR_DB, "%s: vector section too short (%zu bytes)", path, size);
  if (memcmp(h->magic, VF_MAGIC, 8) || h->endian != VF_ENDIAN)
    return ar_fail(err, AR_ERR_DB, "%s: not a vector section of this build (magic or byte order)", path);
  if (h->header_hash != header_hash(h)) return ar_fail(err, AR_ERR_DB, "%s: vector section header checksum fails", path);
  vf_header want = *h;
  if (h->dim == 0 || h->dim > 65536 || h->stride8 != (h->dim + 31) / 32 * 32 || h->n > ((uint64_t)1 << 40) ||
      h->model[sizeof h->model - 1])
    return ar_fail(err, AR_ERR_DB, "%s: vector section header holds impossible sizes", path);
  layout(&want);
  if (memcmp(&want, h, sizeof want) != 0 || want.size != size)
    return ar_fail(err, AR_ERR_DB, "%s: vector section layout does not match its size (%zu bytes)", path, size);
  return AR_OK;
}

static int stamp_matches(const vf_header *h, const ar_vecstamp *st) {
  return h->uid == st->uid && h->gen == st->gen && (int)h->dim == st->dim && strcmp(h->model, st->model) == 0;
}

int ar_vecfile_current(const char *path, const ar_vecstamp *st) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  struct stat sb;
  vf_header h;
  int ok = fstat(fd, &sb) == 0 && read_header(fd, (size_t)sb.st_size, path, &h, NULL) == AR_OK &&
           stamp_matches(&h, st);
  close(fd);
  return ok;
}

ar_status ar_vecfile_map(const char *path, const ar_vecstamp *st, ar_vecmap *out, ar_error *err) {
  memset(out, 0, sizeof *out);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? ar_fail(err, AR_ERR_NOTFOUND, "%s: no vector section", path)
                           : ar_fail(err, AR_ERR_IO, "%s: %s", path, strerror(errno));
  struct stat sb;
  vf_header h;
  ar_status s = fstat(fd, &sb) ? ar_fail(err, AR_ERR_IO, "%s: %s", path, strerror(errno))
                               : read_header(fd, (size_t)sb.st_size, path, &h, err);
  if (!s && !stamp_matches(&h, st))
    s = ar_fail(err, AR_ERR_MISMATCH, "%s: vector section is stale (generation %lld, index at %lld)", path,
                (long long)h.gen, (long long)st->gen);
  void *base = MAP_FAILED;
  if (!s) {
    base = mmap(NULL, h.size, PROT_READ, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED) s = ar_fail(err, AR_ERR_IO, "%s: cannot map: %s", path, strerror(errno));
  }
  close(fd);
  if (s) return s;
  const unsigned char *b = base;
  /* the checked part is read in full now (and by every scan); the fp32 rows are read on demand */
  madvise((void *)b, h.off_v, MADV_WILLNEED);
  if (h.n) madvise((void *)(b + h.off_v), h.size - h.off_v, MADV_RANDOM);
  const int64_t *ids = (const int64_t *)(b + h.off_ids);
  int ok = body_hash(b, &h) == h.body_hash;
  for (uint64_t i = 1; ok && i < h.n; i++) ok = ids[i - 1] < ids[i];   /* ascending: lookups bisect */
  if (!ok) {
    munmap(base, h.size);
    return ar_fail(err, AR_ERR_DB, "%s: vector section checksum fails", path);
  }
  out->base = base;
  out->len = h.size;
  out->m = (ar_dense_matrix){.v = (const float *)(b + h.off_v), .ids = ids, .n = h.n, .dim = (int)h.dim,
                             .q8 = (int8_t *)(b + h.off_q8), .stride8 = (int)h.stride8,
                             .scale = (float *)(b + h.off_scale), .resid = (float *)(b + h.off_resid),
                             .norm = (float *)(b + h.off_norm), .check = (const uint32_t *)(b + h.off_check)};
  return AR_OK;
}

void ar_vecfile_unmap(ar_vecmap *vm) {
  if (vm->base) munmap(vm->base, vm->len);
  memset(vm, 0, sizeof *vm);
}
