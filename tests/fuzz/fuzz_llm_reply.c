/* fuzz_llm_reply.c - an LLM server's reply through the client's own callbacks (src/llm/reply.c, what
 * libcurl calls): header lines, then the body in pieces, then ar_llm_call_reply. Input: a flags byte
 * (stream or not), then "\n\n"-free header lines up to an empty line, then body chunks whose sizes come
 * from the input. Each piece is copied to a block of exactly its size, as libcurl's are not terminated. */
#include "fuzz.h"
#include "llm/llm.h"

static void on_token(const char *s, size_t n, void *ud) { (void)s; *(size_t *)ud += n; }

static size_t feed(size_t (*fn)(char *, size_t, size_t, void *), ar_llm_call *c, const uint8_t *p, size_t n) {
  char *b = malloc(n ? n : 1);
  memcpy(b, p, n);
  size_t r = fn(b, 1, n, c);
  free(b);
  return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz f = {data, size};
  unsigned flags = fz_byte(&f);
  size_t got = 0;
  ar_llm_params p = ar_llm_default_params();
  p.stream = flags & 1;
  p.on_token = flags & 2 ? on_token : NULL;
  p.user_data = &got;
  ar_llm_call c;
  memset(&c, 0, sizeof c);
  c.p = &p;
  c.stream = p.stream;
  c.where = "http://fuzz/v1/chat/completions";
  ar_llm_call_start(&c);
  /* header lines: each ends at '\n' (kept, as libcurl keeps it); an empty line ends the headers */
  while (f.n) {
    const uint8_t *nl = memchr(f.p, '\n', f.n);
    size_t l = nl ? (size_t)(nl - f.p) + 1 : f.n;
    feed(ar_llm_on_header, &c, f.p, l);
    int blank = l <= 2 && (l == 1 || f.p[0] == '\r');
    f.p += l;
    f.n -= l;
    if (blank) break;
  }
  /* body pieces */
  int ok = 1;
  while (f.n && ok) {
    size_t l = 1 + fz_byte(&f) % 64;
    if (l > f.n) l = f.n;
    ok = feed(ar_llm_on_write, &c, f.p, l) == l;
    f.p += l;
    f.n -= l;
  }
  ar_llm_reply out;
  memset(&out, 0, sizeof out);
  ar_error err;
  if (ok) ar_llm_call_reply(&c, c.where, &out, &err);
  ar_llm_reply_free(&out);
  ar_llm_call_free(&c);
  return 0;
}
