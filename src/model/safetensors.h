/* safetensors.h - read-only, validated view of a .safetensors file (mmap). */
#ifndef AR_SAFETENSORS_H
#define AR_SAFETENSORS_H
#include "aularag.h"
#include <stddef.h>
#include <stdint.h>

typedef enum { AR_ST_F32, AR_ST_F16, AR_ST_BF16, AR_ST_OTHER } ar_st_dtype;

typedef struct ar_st_tensor {
  char *name;            /* as in the file */
  const char *key;       /* name without a roberta./bert./model. prefix (points into name) */
  ar_st_dtype dtype;
  char dtype_name[8];
  int ndim;
  int64_t shape[8];
  const uint8_t *data;   /* inside the mapping; may be unaligned */
  size_t nbytes;
  size_t begin;          /* offset in the data buffer, for messages */
} ar_st_tensor;

typedef struct ar_st_file {
  char *path;
  uint8_t *map;
  size_t size;
  int fd;                /* kept open: rows of big tables are read with pread (see ar_st_read) */
  size_t header_len;     /* JSON bytes; data buffer starts at 8 + header_len */
  ar_st_tensor *t;
  int n;
} ar_st_file;

/* Maps and validates: header JSON, dtypes, shapes vs byte lengths, offsets in range, no overlaps,
 * no duplicate names (also after prefix stripping). Errors name the file and tensor. */
ar_status ar_st_open(const char *path, ar_st_file *f, ar_error *err);
/* By name without prefix; NULL when absent. */
const ar_st_tensor *ar_st_find(const ar_st_file *f, const char *key);
/* Copies n bytes at offset `off` inside tensor t without touching the mapping: on kernels that map
 * large folios per fault, touching one row of a 400 MB embedding table through mmap can pull
 * megabytes into RSS. Returns 0 or -1. */
int ar_st_read(const ar_st_file *f, const ar_st_tensor *t, size_t off, void *dst, size_t n);
void ar_st_close(ar_st_file *f);
#endif
