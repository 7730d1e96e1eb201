/* client.c - one WAV chunk -> POST /v1/audio/transcriptions (multipart, verbose_json), retried with
 * the policy the LLM and embeddings clients share (core/http.c). */
#include "asr/asr.h"
#include "core/http.h"
#include <curl/curl.h>

struct ar_asr_client {
  ar_transcribe_params p;
  char *endpoint, *model, *language;
  struct curl_slist *hdr;   /* read-only once built, shared by all requests */
};

char *ar_asr_endpoint(const char *base) {
  size_t n = strlen(base);
  while (n && base[n - 1] == '/') n--;
  ar_buf b = {0};
  /* a base naming the route itself is kept: .../transcriptions, or whisper.cpp's default /inference */
  if ((n >= 15 && !strncmp(base + n - 15, "/transcriptions", 15)) || (n >= 10 && !strncmp(base + n - 10, "/inference", 10)))
    ar_buf_append(&b, base, n);
  else if (n >= 3 && !strncmp(base + n - 3, "/v1", 3)) ar_buf_printf(&b, "%.*s/audio/transcriptions", (int)n, base);
  else ar_buf_printf(&b, "%.*s/v1/audio/transcriptions", (int)n, base);
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

static void put16(unsigned char *p, unsigned v) { p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8); }
static void put32(unsigned char *p, uint32_t v) { put16(p, v & 0xffff); put16(p + 2, v >> 16); }

void ar_wav_header(unsigned char h[AR_ASR_WAV_HEADER], uint32_t n) {
  memcpy(h, "RIFF", 4);
  put32(h + 4, 36 + n);
  memcpy(h + 8, "WAVEfmt ", 8);
  put32(h + 16, 16);                 /* fmt chunk size */
  put16(h + 20, 1);                  /* PCM */
  put16(h + 22, 1);                  /* mono */
  put32(h + 24, AR_ASR_RATE);
  put32(h + 28, AR_ASR_RATE * 2);    /* bytes per second */
  put16(h + 32, 2);                  /* block align */
  put16(h + 34, 16);                 /* bits per sample */
  memcpy(h + 36, "data", 4);
  put32(h + 40, n);
}

void ar_asr_close(ar_asr_client *c) {
  if (!c) return;
  curl_slist_free_all(c->hdr);
  ar_free(c->endpoint);
  ar_free(c->model);
  ar_free(c->language);
  ar_free(c);
}

ar_status ar_asr_open(const ar_transcribe_params *p, ar_asr_client **out, ar_error *err) {
  *out = NULL;
  if (!p->asr_url || !*p->asr_url) return ar_fail(err, AR_ERR_INVALID, "no transcription server given");
  ar_http_init();
  ar_asr_client *c = ar_calloc(1, sizeof *c);
  if (!c) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  c->p = *p;
  c->endpoint = ar_asr_endpoint(p->asr_url);
  c->model = ar_strdup(p->asr_model && *p->asr_model ? p->asr_model : "whisper-1");
  c->language = p->language && *p->language ? ar_strdup(p->language) : NULL;
  c->p.asr_url = c->p.asr_model = c->p.api_key = c->p.language = NULL;  /* the copies above are kept */
  int ok = c->endpoint && c->model && (!p->language || !*p->language || c->language);
  if (ok) c->hdr = ar_http_headers(NULL, "application/json", p->api_key);
  if (!ok || !c->hdr) { ar_asr_close(c); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  *out = c;
  return AR_OK;
}

static int add_field(curl_mime *m, const char *name, const char *value) {
  curl_mimepart *part = curl_mime_addpart(m);
  return part && !curl_mime_name(part, name) && !curl_mime_data(part, value, CURL_ZERO_TERMINATED) ? 0 : -1;
}

static curl_mime *build_form(ar_asr_client *c, CURL *h, const void *wav, size_t len, const char *filename) {
  curl_mime *m = curl_mime_init(h);
  curl_mimepart *f = m ? curl_mime_addpart(m) : NULL;
  int bad = !f || curl_mime_name(f, "file") || curl_mime_data(f, wav, len) || curl_mime_filename(f, filename) ||
            curl_mime_type(f, "audio/wav");
  bad = bad || add_field(m, "model", c->model) || add_field(m, "response_format", "verbose_json") ||
        add_field(m, "timestamp_granularities[]", "segment") || add_field(m, "temperature", "0");
  if (!bad && c->language) bad = add_field(m, "language", c->language);
  if (bad) { curl_mime_free(m); return NULL; }
  return m;
}

/* One upload's reply: the 413 that asks for smaller chunks, then the segments of a 2xx. */
typedef struct upload {
  ar_asr_client *c;
  size_t len;
  double chunk_s;
  ar_asr_segs *out;
  int *too_large, *no_segments;
} upload;

static ar_http_verdict classify(void *ud, const ar_http_reply *r, ar_http_verdict v, ar_error *e) {
  upload *u = ud;
  const char *ep = u->c->endpoint;
  if (r->timed_out) {
    /* Decision: not retried; a chunk the server cannot finish in time would only time out again */
    ar_fail(e, AR_ERR_TIMEOUT, "transcription server %s: no reply within %.0f s (timeout)", ep,
            u->c->p.timeout_ms / 1000.0);
    return AR_HTTP_FAIL;
  }
  if (r->curl_code) return v;
  if (r->status == 413) {
    char detail[240];
    ar_http_error_detail(r->body, r->len, detail);
    ar_fail(e, AR_ERR_HTTP, "transcription server %s refused a %zu-byte upload as too large (HTTP 413)%s", ep,
            u->len, detail);
    *u->too_large = 1;
    return AR_HTTP_FAIL;
  }
  if (v != AR_HTTP_DONE) return v;
  return ar_asr_parse_reply(r->body, r->len, u->chunk_s, u->out, u->no_segments, ep, e) ? AR_HTTP_FAIL
                                                                                          : AR_HTTP_DONE;
}

ar_status ar_asr_transcribe(ar_asr_client *c, const void *wav, size_t len, const char *filename, double chunk_s,
                            ar_asr_segs *out, int *too_large, int *no_segments, ar_error *err) {
  memset(out, 0, sizeof *out);
  *too_large = *no_segments = 0;
  CURL *h = curl_easy_init();   /* the form is made for the handle that sends it */
  curl_mime *form = h ? build_form(c, h, wav, len, filename) : NULL;
  if (!form) { if (h) curl_easy_cleanup(h); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  upload u = {c, len, chunk_s, out, too_large, no_segments};
  ar_http_req q = {.url = c->endpoint, .what = "transcription server", .headers = c->hdr, .form = form, .curl = h,
                   .connect_timeout_ms = c->p.connect_timeout_ms, .timeout_ms = c->p.timeout_ms,
                   .max_retries = c->p.max_retries, .retry_base_ms = c->p.retry_base_ms,
                   .retry_max_ms = c->p.retry_max_ms, .classify = classify, .user_data = &u};
  ar_status st = ar_http_post(&q, err);
  curl_easy_cleanup(h);
  curl_mime_free(form);
  return st;
}
