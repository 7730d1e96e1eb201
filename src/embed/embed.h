/* embed.h - internals of the embeddings client shared by its files and tests. */
#ifndef AR_EMBED_H
#define AR_EMBED_H
#include "core/util.h"

/* ---- request.c ---- */
/* "{base}/v1/embeddings" whether or not base ends in "/v1" (a base already naming .../embeddings is
 * kept). malloc'd, NULL on OOM. */
char *ar_embed_endpoint(const char *base_url);
/* {"model", "input": [prefix + text...], "encoding_format"}; text that is not valid UTF-8 gets U+FFFD.
 * malloc'd, NULL on OOM. */
char *ar_embed_request_body(const char *model, ar_embed_kind kind, const char *const *texts, int n, int base64);

/* ---- reply.c ---- */
/* Parses an embeddings reply for n inputs: data[] must hold exactly one vector per index 0..n-1
 * (any order), each a float array or a base64 string of little-endian float32, all of one dimension.
 * *dim: the expected dimension, or 0 to take the reply's (then set). Vectors are checked finite and
 * non-zero and L2-normalised into *out (malloc'd n x dim, input order). where: the endpoint, for messages. */
ar_status ar_embed_parse_reply(const char *body, size_t len, int n, int *dim, float **out, const char *where,
                               ar_error *err);
/* Standard base64 (padding optional, no whitespace) -> bytes. Returns the length, or -1 when invalid. */
long ar_base64_decode(const char *s, size_t n, unsigned char *out);
#endif
