/* fuzz_manifest.c - the course manifest CSV (ar_manifest_load reads a path: the input goes to a file). */
#include "fuzz.h"
#include "aularag.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *path = fz_write("manifest.csv", data, size);
  ar_manifest m;
  ar_error err;
  if (ar_manifest_load(path, &m, &err) == AR_OK) {
    if (m.n) ar_manifest_find(&m, m.rows[0].path);
    ar_manifest_find(&m, "aula01.vtt");
    ar_manifest_free(&m);
  }
  return 0;
}
