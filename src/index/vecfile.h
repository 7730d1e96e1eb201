/* vecfile.h - the vector section: a sidecar file next to the index (INDEX.vec) holding the dense matrix
 * in the layout the scan reads, so a process maps it instead of reading every row through SQLite.
 * It is a cache: SQLite stays the source of truth. The section is stamped with the index's vectors
 * uid and generation (meta 'vectors_uid'/'vectors_gen', bumped by triggers in every transaction that
 * changes vectors); a section with another stamp, or whose checksums fail, is never used. Internal. */
#ifndef AR_VECFILE_H
#define AR_VECFILE_H
#include "index/dense.h"

/* The stamp a section must carry to be used for an index state. */
typedef struct ar_vecstamp {
  uint64_t uid;          /* random per index file: a section from another index never matches */
  int64_t gen;           /* vectors generation */
  char model[256];       /* fingerprint of the model the vectors were made with */
  int dim;
} ar_vecstamp;

/* A mapped section: m's arrays (v, ids, q8, scale, resid, norm, check) point into the mapping. */
typedef struct ar_vecmap {
  void *base;
  size_t len;
  ar_dense_matrix m;
} ar_vecmap;

/* Writes m (prepared: q8 and check set) stamped st to path, atomically (temp file + rename). */
ar_status ar_vecfile_write(const char *path, const ar_dense_matrix *m, const ar_vecstamp *st, ar_error *err);
/* Maps path when its header carries stamp st and every checksum holds (header, ids, int8 copy and
 * its bounds, the per-row checksums; the fp32 rows are verified row by row when read: m.check).
 * AR_ERR_NOTFOUND: no file; AR_ERR_MISMATCH: another stamp (stale); AR_ERR_DB: corrupt. */
ar_status ar_vecfile_map(const char *path, const ar_vecstamp *st, ar_vecmap *out, ar_error *err);
/* 1 when path's header carries stamp st (the body is not checked), else 0. Cheap. */
int ar_vecfile_current(const char *path, const ar_vecstamp *st);
void ar_vecfile_unmap(ar_vecmap *vm);
#endif
