/* fuzz_asr_reply.c - a speech server's reply, through the client's own parser (src/asr/reply.c):
 * verbose_json segments, a reply without segments, times that are negative, reversed, huge or not
 * numbers, and texts that trim to nothing. */
#include "fuzz.h"
#include "asr/asr.h"
#include <math.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  double chunk_s = 1 + data[0] * 3.0;   /* the length of the chunk the reply is for */
  ar_asr_segs s;
  int no_segs = 0;
  ar_error err;
  if (ar_asr_parse_reply((const char *)data + 1, size - 1, chunk_s, &s, &no_segs, "fuzz", &err) == AR_OK) {
    /* what the parser accepts is what transcribe shifts and writes: times inside the chunk, in order
     * within a segment, non-empty trimmed text */
    for (int i = 0; i < s.n; i++) {
      const ar_asr_seg *g = &s.v[i];
      if (!(g->start >= 0 && g->start <= g->end && g->end <= chunk_s) || !g->text[0] ||
          (unsigned char)g->text[0] <= ' ' || (unsigned char)g->text[strlen(g->text) - 1] <= ' ')
        abort();
    }
    if (no_segs && s.n > 1) abort();
  } else if (s.n || s.v) {
    abort();   /* a failure leaves nothing to free */
  }
  ar_asr_segs_free(&s);
  return 0;
}
