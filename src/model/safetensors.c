/* safetensors.c - maps a .safetensors file and checks its header against the bytes it describes. */
#include "model/safetensors.h"
#include "core/util.h"
#include <errno.h>
#include <jansson.h>
#include <sys/mman.h>
#include <unistd.h>

#define ST_MAX_HEADER (100u << 20) /* the reference implementation's limit */

static int dtype_of(const char *s, ar_st_dtype *dt, size_t *el) {
  static const struct { const char *n; ar_st_dtype dt; size_t el; } tab[] = {
    {"F32", AR_ST_F32, 4}, {"F16", AR_ST_F16, 2}, {"BF16", AR_ST_BF16, 2}, {"F64", AR_ST_OTHER, 8},
    {"I64", AR_ST_OTHER, 8}, {"U64", AR_ST_OTHER, 8}, {"I32", AR_ST_OTHER, 4}, {"U32", AR_ST_OTHER, 4},
    {"I16", AR_ST_OTHER, 2}, {"U16", AR_ST_OTHER, 2}, {"I8", AR_ST_OTHER, 1}, {"U8", AR_ST_OTHER, 1},
    {"BOOL", AR_ST_OTHER, 1}, {"F8_E4M3", AR_ST_OTHER, 1}, {"F8_E5M2", AR_ST_OTHER, 1},
  };
  for (size_t i = 0; i < AR_ARRAY_LEN(tab); i++)
    if (!strcmp(s, tab[i].n)) { *dt = tab[i].dt; *el = tab[i].el; return 0; }
  return -1;
}

static const char *strip_prefix(const char *name) {
  static const char *pre[] = {"roberta.", "bert.", "model."};
  for (size_t i = 0; i < AR_ARRAY_LEN(pre); i++) {
    size_t n = strlen(pre[i]);
    if (!strncmp(name, pre[i], n)) return name + n;
  }
  return name;
}

static int cmp_begin(const void *a, const void *b) {
  const ar_st_tensor *x = *(ar_st_tensor *const *)a, *y = *(ar_st_tensor *const *)b;
  return x->begin < y->begin ? -1 : x->begin > y->begin ? 1 : (x->nbytes > y->nbytes) - (x->nbytes < y->nbytes);
}

static ar_status parse_tensor(const char *path, const char *name, json_t *v, const uint8_t *buf, size_t buf_len,
                              ar_st_tensor *t, ar_error *err) {
  if (!json_is_object(v)) return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': entry is not an object", path, name);
  json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"), *jo = json_object_get(v, "data_offsets");
  if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) || json_array_size(jo) != 2)
    return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': needs dtype, shape and data_offsets [begin,end]", path, name);
  size_t el;
  if (dtype_of(json_string_value(jd), &t->dtype, &el))
    return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': unknown dtype '%s'", path, name, json_string_value(jd));
  snprintf(t->dtype_name, sizeof t->dtype_name, "%s", json_string_value(jd));
  if (json_array_size(js) > AR_ARRAY_LEN(t->shape))
    return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': too many dimensions (%zu)", path, name, json_array_size(js));
  t->ndim = (int)json_array_size(js);
  size_t count = 1;
  for (int i = 0; i < t->ndim; i++) {
    json_t *d = json_array_get(js, (size_t)i);
    if (!json_is_integer(d) || json_integer_value(d) < 0)
      return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': shape[%d] is not a non-negative integer", path, name, i);
    uint64_t di = (uint64_t)json_integer_value(d);
    if (di && count > (SIZE_MAX / 16) / di)
      return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': shape overflows", path, name);
    t->shape[i] = (int64_t)di;
    count *= di;
  }
  json_t *jb = json_array_get(jo, 0), *je = json_array_get(jo, 1);
  if (!json_is_integer(jb) || !json_is_integer(je) || json_integer_value(jb) < 0 ||
      json_integer_value(je) < json_integer_value(jb))
    return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': data_offsets must be integers with 0 <= begin <= end", path,
                   name);
  uint64_t b = (uint64_t)json_integer_value(jb), e = (uint64_t)json_integer_value(je);
  if (e > buf_len)
    return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': data_offsets [%llu,%llu] beyond the %zu-byte data buffer",
                   path, name, (unsigned long long)b, (unsigned long long)e, buf_len);
  if (e - b != count * el)
    return ar_fail(err, AR_ERR_PARSE, "%s: tensor '%s': %s shape holds %zu bytes but data_offsets span %llu", path,
                   name, t->dtype_name, count * el, (unsigned long long)(e - b));
  t->begin = (size_t)b;
  t->nbytes = (size_t)(e - b);
  t->data = buf + b;
  return AR_OK;
}

ar_status ar_st_open(const char *path, ar_st_file *f, ar_error *err) {
  memset(f, 0, sizeof *f);
  f->fd = -1;
  int fd;
  ar_status opened = ar_open_file(path, &fd, &f->size, err);
  if (opened) return opened;
  if (f->size < 10) {
    close(fd);
    return ar_fail(err, AR_ERR_PARSE, "%s: %zu bytes: too short for a safetensors file", path, f->size);
  }
  void *m = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (m == MAP_FAILED) {
    close(fd);
    return ar_fail(err, AR_ERR_IO, "%s: mmap failed: %s", path, strerror(errno));
  }
  f->map = m;
  f->fd = fd;
  f->path = ar_strdup(path);
  if (!f->path) { ar_st_close(f); return ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); }
  uint64_t n = 0;
  for (int i = 7; i >= 0; i--) n = n << 8 | f->map[i];
  if (n > ST_MAX_HEADER || n > f->size - 8) {
    ar_st_close(f);
    return ar_fail(err, AR_ERR_PARSE, "%s: byte 0: header length %llu exceeds the file (%zu bytes) or the 100 MB limit",
                   path, (unsigned long long)n, f->size);
  }
  f->header_len = (size_t)n;
  if (n < 2 || f->map[8] != '{') {
    ar_st_close(f);
    return ar_fail(err, AR_ERR_PARSE, "%s: byte 8: header is not a JSON object", path);
  }
  json_error_t je;
  json_t *root = json_loadb((const char *)f->map + 8, (size_t)n, JSON_REJECT_DUPLICATES, &je);
  if (!root || !json_is_object(root)) {
    json_decref(root);
    ar_st_close(f);
    return ar_fail(err, AR_ERR_PARSE, "%s: byte %d: header JSON: %s", path, 8 + je.position, je.text);
  }
  const uint8_t *buf = f->map + 8 + n;
  size_t buf_len = f->size - 8 - (size_t)n;
  f->t = ar_calloc(json_object_size(root) + 1, sizeof *f->t);
  ar_st_tensor **order = ar_calloc(json_object_size(root) + 1, sizeof *order);
  ar_status s = (f->t && order) ? AR_OK : ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path);
  const char *key;
  json_t *v;
  json_object_foreach(root, key, v) {
    if (s != AR_OK) break;
    if (!strcmp(key, "__metadata__")) {
      if (!json_is_object(v)) s = ar_fail(err, AR_ERR_PARSE, "%s: __metadata__ is not an object", path);
      continue;
    }
    ar_st_tensor *t = &f->t[f->n];
    t->name = ar_strdup(key);
    if (!t->name) { s = ar_fail(err, AR_ERR_NOMEM, "%s: out of memory", path); break; }
    t->key = strip_prefix(t->name);
    f->n++;
    s = parse_tensor(path, key, v, buf, buf_len, t, err);
    if (s == AR_OK)
      for (int i = 0; i < f->n - 1; i++)
        if (!strcmp(f->t[i].key, t->key)) {
          s = ar_fail(err, AR_ERR_PARSE, "%s: tensors '%s' and '%s' have the same name without prefix", path,
                      f->t[i].name, t->name);
          break;
        }
  }
  json_decref(root);
  if (s == AR_OK) { /* overlapping byte ranges mean a corrupt or hostile header */
    for (int i = 0; i < f->n; i++) order[i] = &f->t[i];
    qsort(order, (size_t)f->n, sizeof *order, cmp_begin);
    const ar_st_tensor *last = NULL; /* the tensor reaching furthest so far */
    for (int i = 0; i < f->n; i++) {
      if (!order[i]->nbytes) continue;
      if (last && order[i]->begin < last->begin + last->nbytes) {
        s = ar_fail(err, AR_ERR_PARSE, "%s: tensors '%s' and '%s' overlap in the data buffer", path, last->name,
                    order[i]->name);
        break;
      }
      if (!last || order[i]->begin + order[i]->nbytes > last->begin + last->nbytes) last = order[i];
    }
  }
  ar_free(order);
  if (s != AR_OK) ar_st_close(f);
  return s;
}

const ar_st_tensor *ar_st_find(const ar_st_file *f, const char *key) {
  for (int i = 0; i < f->n; i++)
    if (!strcmp(f->t[i].key, key)) return &f->t[i];
  return NULL;
}

int ar_st_read(const ar_st_file *f, const ar_st_tensor *t, size_t off, void *dst, size_t n) {
  if (off > t->nbytes || n > t->nbytes - off) return -1;
  size_t pos = (size_t)(t->data - f->map) + off, done = 0;
  while (done < n) {
    ssize_t r = pread(f->fd, (char *)dst + done, n - done, (off_t)(pos + done));
    if (r <= 0) {
      if (r < 0 && errno == EINTR) continue;
      return -1;
    }
    done += (size_t)r;
  }
  return 0;
}

void ar_st_close(ar_st_file *f) {
  if (f->fd >= 0) close(f->fd);
  if (f->map) munmap(f->map, f->size);
  for (int i = 0; i < f->n; i++) ar_free(f->t[i].name);
  ar_free(f->t);
  ar_free(f->path);
  memset(f, 0, sizeof *f);
  f->fd = -1;
}
