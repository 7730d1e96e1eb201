/* test_llm.c - the LLM client's pure parts: SHA-256, SSE parsing, UTF-8 hold, endpoint, body, key. */
#include "test.h"
#include "llm/llm.h"
#include "core/http.h"
#include <jansson.h>

TEST(llm_sha256_fips_vectors) {
  char hex[65];
  ar_sha256_hex("", 0, hex);
  ASSERT_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  ar_sha256_hex("abc", 3, hex);
  ASSERT_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  ar_sha256_hex(m, strlen(m), hex);
  ASSERT_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

/* Every length across the padding boundaries (55/56/64 bytes), against Python's hashlib. */
TEST(llm_sha256_matches_hashlib) {
  FILE *f = popen("/usr/bin/python3 -c \"import hashlib\n"
                  "for n in range(0, 200): print(hashlib.sha256(bytes((i * 7 + 3) % 256 for i in range(n))).hexdigest())\"",
                  "r");
  ASSERT(f);
  unsigned char buf[200];
  for (int i = 0; i < 200; i++) buf[i] = (unsigned char)((i * 7 + 3) % 256);
  char line[128], hex[65];
  int n = 0;
  while (fgets(line, sizeof line, f)) {
    line[64] = 0;
    /* Incremental updates in uneven pieces must give the one-shot digest. */
    ar_sha256 s;
    unsigned char d[32];
    ar_sha256_init(&s);
    for (int i = 0; i < n;) { int k = AR_MIN(n - i, 1 + i % 13); ar_sha256_update(&s, buf + i, (size_t)k); i += k; }
    ar_sha256_final(&s, d);
    ar_sha256_hex(buf, (size_t)n, hex);
    ASSERT_MSG(!strcmp(hex, line), "length %d", n);
    char hex2[65];
    for (int i = 0; i < 32; i++) sprintf(hex2 + 2 * i, "%02x", d[i]);
    ASSERT_MSG(!strcmp(hex2, line), "incremental, length %d", n);
    n++;
  }
  pclose(f);
  ASSERT_EQ_INT(n, 200);
}

typedef struct { ar_buf all; int n; } events;
static int collect(const char *d, size_t n, void *ud) {
  events *e = ud;
  ar_buf_append(&e->all, d, n);
  ar_buf_puts(&e->all, "|");
  e->n++;
  return 0;
}

/* The same stream cut at every byte position (and fed byte by byte) gives the same events. */
TEST(llm_sse_split_anywhere) {
  const char *s = ": keep-alive\r\ndata: {\"a\":\"ção\"}\r\n\r\nevent: x\ndata:one\ndata: two\n\nid: 3\rdata: três\r\r"
                  "data: [DONE]\n\n";
  const char *want = "{\"a\":\"ção\"}|one\ntwo|três|[DONE]|";
  size_t n = strlen(s);
  for (size_t cut = 0; cut <= n; cut++) {
    events e = {{0}, 0};
    ar_sse p;
    ar_sse_init(&p, collect, &e);
    ASSERT_EQ_INT(ar_sse_feed(&p, s, cut), 0);
    ASSERT_EQ_INT(ar_sse_feed(&p, s + cut, n - cut), 0);
    ASSERT_EQ_INT(ar_sse_finish(&p), 0);
    ASSERT_MSG(e.all.p && !strcmp(e.all.p, want), "cut at %zu: %s", cut, e.all.p ? e.all.p : "(none)");
    ar_sse_free(&p);
    ar_buf_free(&e.all);
  }
  events e = {{0}, 0};
  ar_sse p;
  ar_sse_init(&p, collect, &e);
  for (size_t i = 0; i < n; i++) ASSERT_EQ_INT(ar_sse_feed(&p, s + i, 1), 0);
  ar_sse_finish(&p);
  ASSERT_STREQ(e.all.p, want);
  ASSERT_EQ_INT(e.n, 4);
  ar_sse_free(&p);
  ar_buf_free(&e.all);
}

TEST(llm_sse_last_event_without_blank_line) {
  events e = {{0}, 0};
  ar_sse p;
  ar_sse_init(&p, collect, &e);
  ar_sse_feed(&p, "data: x\n\ndata: cut", 18);
  ASSERT_EQ_INT(e.n, 1);
  ar_sse_finish(&p);
  ASSERT_STREQ(e.all.p, "x|cut|");
  ar_sse_free(&p);
  ar_buf_free(&e.all);
}

static void append_piece(const char *s, size_t n, void *ud) {
  ar_buf *b = ud;
  /* each piece handed on must be whole UTF-8 */
  for (size_t i = 0; i < n;) {
    int l = ar_utf8_len((const unsigned char *)s + i, n - i);
    if (l <= 0) { ar_buf_puts(b, "<BROKEN>"); return; }
    i += (size_t)l;
  }
  ar_buf_append(b, s, n);
}

TEST(llm_utf8_hold_never_splits_a_sequence) {
  const char *s = "aç😀ão€x";  /* 1, 2, 4, 2, 1, 3, 1 bytes */
  size_t n = strlen(s);
  for (size_t a = 0; a <= n; a++)
    for (size_t b = a; b <= n; b++) {
      ar_buf out = {0};
      ar_utf8_hold h = {{0}, 0};
      ar_utf8_hold_feed(&h, s, a, append_piece, &out);
      ar_utf8_hold_feed(&h, s + a, b - a, append_piece, &out);
      ar_utf8_hold_feed(&h, s + b, n - b, append_piece, &out);
      ASSERT_EQ_INT(h.n, 0);
      ASSERT_MSG(out.p && !strcmp(out.p, s), "cuts %zu %zu: %s", a, b, out.p ? out.p : "");
      ar_buf_free(&out);
    }
}

TEST(llm_endpoint_with_or_without_v1) {
  const char *in[] = {"http://h:1", "http://h:1/", "http://h:1/v1", "http://h:1/v1/", "http://h:1/v1/chat/completions",
                      "https://api.openai.com/v1"};
  const char *want[] = {"http://h:1/v1/chat/completions", "http://h:1/v1/chat/completions",
                        "http://h:1/v1/chat/completions", "http://h:1/v1/chat/completions",
                        "http://h:1/v1/chat/completions", "https://api.openai.com/v1/chat/completions"};
  for (size_t i = 0; i < AR_ARRAY_LEN(in); i++) {
    char *e = ar_llm_endpoint(in[i]);
    ASSERT_STREQ(e, want[i]);
    ar_free(e);
  }
}

TEST(llm_retry_after_seconds_form) {
  ASSERT_NEAR(ar_http_retry_after_s(" 2\r\n"), 2, 0);
  ASSERT_NEAR(ar_http_retry_after_s("0"), 0, 0);
  ASSERT_NEAR(ar_http_retry_after_s("1.5"), 1.5, 0);
  ASSERT_NEAR(ar_http_retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT"), -1, 0);
  ASSERT_NEAR(ar_http_retry_after_s(""), -1, 0);
  ASSERT_NEAR(ar_http_retry_after_s(NULL), -1, 0);
}

TEST(llm_request_body_fields) {
  ar_llm_params p = ar_llm_default_params();
  p.model = "qwen";
  ar_chat_msg m[2] = {{"system", "regras"}, {"user", "pergunta \"ção\"\n"}};
  char *b = ar_llm_request_body(&p, m, 2, 1);
  json_t *o = json_loads(b, 0, NULL);
  ASSERT(o);
  ASSERT_STREQ(json_string_value(json_object_get(o, "model")), "qwen");
  ASSERT_NEAR(json_number_value(json_object_get(o, "temperature")), 0, 0);
  ASSERT_EQ_INT(json_integer_value(json_object_get(o, "seed")), 42);
  ASSERT(json_is_true(json_object_get(o, "stream")));
  ASSERT(!json_object_get(o, "max_tokens"));
  json_t *msgs = json_object_get(o, "messages");
  ASSERT_EQ_INT(json_array_size(msgs), 2);
  ASSERT_STREQ(json_string_value(json_object_get(json_array_get(msgs, 1), "content")), "pergunta \"ção\"\n");
  ASSERT_STREQ(json_string_value(json_object_get(json_array_get(msgs, 0), "role")), "system");
  json_decref(o);
  ar_free(b);
}

TEST(llm_cache_key_covers_endpoint_model_messages_params) {
  ar_llm_params p = ar_llm_default_params();
  p.base_url = "http://h:1";
  p.model = "m";
  ar_chat_msg m[1] = {{"user", "q"}};
  char k0[65], k[65];
  ASSERT_EQ_INT(ar_llm_cache_key(&p, m, 1, k0, NULL), AR_OK);
  ASSERT_EQ_INT(strlen(k0), 64);
  p.stream = 1;  /* streaming is how it is shown, not what is asked */
  ar_llm_cache_key(&p, m, 1, k, NULL); ASSERT_STREQ(k, k0);
  p.base_url = "http://h:1/v1/";  /* the same endpoint spelled differently */
  ar_llm_cache_key(&p, m, 1, k, NULL); ASSERT_STREQ(k, k0);
  p.base_url = "http://h:2"; ar_llm_cache_key(&p, m, 1, k, NULL); ASSERT(strcmp(k, k0)); p.base_url = "http://h:1";
  p.model = "n"; ar_llm_cache_key(&p, m, 1, k, NULL); ASSERT(strcmp(k, k0)); p.model = "m";
  p.temperature = 0.5; ar_llm_cache_key(&p, m, 1, k, NULL); ASSERT(strcmp(k, k0)); p.temperature = 0;
  p.seed = 7; ar_llm_cache_key(&p, m, 1, k, NULL); ASSERT(strcmp(k, k0)); p.seed = 42;
  ar_chat_msg m2[1] = {{"user", "q2"}};
  ar_llm_cache_key(&p, m2, 1, k, NULL); ASSERT(strcmp(k, k0));
  ar_llm_cache_key(&p, m, 1, k, NULL); ASSERT_STREQ(k, k0);
}

TEST(llm_parse_completion_errors_name_the_endpoint) {
  ar_llm_reply r = {0};
  ar_error e = {0};
  ASSERT_EQ_INT(ar_llm_parse_completion("{bad", 4, "http://x/v1/chat/completions", &r, &e), AR_ERR_PARSE);
  ASSERT(strstr(e.msg, "http://x/v1/chat/completions"));
  ASSERT(strstr(e.msg, "not valid JSON"));
  ASSERT_EQ_INT(ar_llm_parse_completion("{\"choices\":[]}", 14, "u", &r, &e), AR_ERR_PARSE);
  ASSERT(strstr(e.msg, "choices[0].message.content"));
  const char *ok = "{\"choices\":[{\"message\":{\"content\":\"olá\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":2}}";
  r.prompt_tokens = r.completion_tokens = -1;
  ASSERT_EQ_INT(ar_llm_parse_completion(ok, strlen(ok), "u", &r, &e), AR_OK);
  ASSERT_STREQ(r.content, "olá");
  ASSERT_EQ_INT(r.prompt_tokens, 5);
  ASSERT_EQ_INT(r.completion_tokens, 2);
  ar_llm_reply_free(&r);
}

TEST(llm_params_from_env_prefers_aularag_key) {
  setenv("AULARAG_LLM_URL", "http://e:1", 1);
  setenv("OPENAI_API_KEY", "sk-openai", 1);
  unsetenv("AULARAG_LLM_API_KEY");
  ar_llm_params p = ar_llm_default_params();
  ar_llm_params_from_env(&p);
  ASSERT_STREQ(p.base_url, "http://e:1");
  ASSERT_STREQ(p.api_key, "sk-openai");
  setenv("AULARAG_LLM_API_KEY", "sk-aularag", 1);
  ar_llm_params q = ar_llm_default_params();
  q.base_url = "http://flag:2";  /* a value already set (a flag) wins */
  ar_llm_params_from_env(&q);
  ASSERT_STREQ(q.base_url, "http://flag:2");
  ASSERT_STREQ(q.api_key, "sk-aularag");
  unsetenv("AULARAG_LLM_URL"); unsetenv("OPENAI_API_KEY"); unsetenv("AULARAG_LLM_API_KEY");
}

/* Feeds one header line to the client's header callback from a heap block of exactly its length (as
 * libcurl's lines are: no NUL after them), so ASan sees any read past the end. */
static void header(ar_llm_call *c, const char *line) {
  size_t n = strlen(line);
  char *b = malloc(n ? n : 1);
  memcpy(b, line, n);
  ar_llm_on_header(b, 1, n, c);
  free(b);
}

/* issue 12 finding 3: strtol on the status line read past it ("HTTP/1.1 \r\n": strtol skips the CR LF as
 * space and goes on), and a header that starts with "HTTP/" reset the status and the SSE flag. */
TEST(llm_header_callback_within_line) {
  ar_llm_call c;
  memset(&c, 0, sizeof c);
  ar_llm_call_start(&c);
  header(&c, "HTTP/1.1 \r\n");
  ASSERT_EQ_INT(c.status, 0);
  header(&c, "\r\n");
  header(&c, "HTTP/1.1 200 OK\r\n");
  ASSERT_EQ_INT(c.status, 200);
  header(&c, "Content-Type: text/event-stream\r\n");
  ASSERT_EQ_INT(c.is_sse, 1);
  header(&c, "HTTP/x: 503\r\n");
  ASSERT_EQ_INT(c.status, 200);
  ASSERT_EQ_INT(c.is_sse, 1);
  header(&c, "Retry-After: 7");
  ASSERT_STREQ(c.retry_after, " 7");
  header(&c, "\r\n");
  /* a second response (after a 100 or a redirect) starts over */
  header(&c, "HTTP/2 429\r\n");
  ASSERT_EQ_INT(c.status, 429);
  ASSERT_EQ_INT(c.is_sse, 0);
  ASSERT_STREQ(c.retry_after, "");
  header(&c, "HTTP/1.1");
  header(&c, "content-type: text/event-stream; charset=utf-8");
  ASSERT_EQ_INT(c.is_sse, 1);
  ar_llm_call_free(&c);
}
