/* fuzz_embed_reply.c - an embeddings server's reply, through the client's own parser (src/embed/reply.c):
 * float and base64 vectors, `index` order, counts and dimensions that disagree with the request. */
#include "fuzz.h"
#include "embed/embed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int n = 1 + data[0] % 8;            /* inputs the request had */
  int dim = data[1] % 4 ? 0 : 1 + data[1] % 64;   /* mostly unknown: the reply fixes it */
  float *v = NULL;
  ar_error err;
  if (ar_embed_parse_reply((const char *)data + 2, size - 2, n, &dim, &v, "fuzz", &err) == AR_OK) {
    /* every vector the parser accepted is n x dim finite floats: touch them all */
    volatile float sink = 0;
    for (size_t i = 0; i < (size_t)n * (size_t)dim; i++) sink += v[i];
    (void)sink;
  }
  free(v);
  return 0;
}
