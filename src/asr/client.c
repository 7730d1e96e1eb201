/* client.c - one WAV chunk -> POST /v1/audio/transcriptions (multipart, verbose_json), retried with
 * the policy the LLM and embeddings clients share (core/http.c). */
#include "asr/asr.h"
#include "core/http.h"
#include <curl/curl.h>
#include <strings.h>

struct ar_asr_client {
  ar_transcribe_params p;
  char *endpoint, *model, *language, *auth;
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
  if (c->auth) { memset(c->auth, 0, strlen(c->auth)); ar_free(c->auth); }
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
  struct curl_slist *h = ok ? curl_slist_append(NULL, "Accept: application/json") : NULL;
  if (h) c->hdr = h;
  if (h && (h = curl_slist_append(c->hdr, "Expect:"))) c->hdr = h;   /* no 100-continue round trip */
  if (h && p->api_key && *p->api_key) {
    size_t n = strlen(p->api_key) + 32;
    if ((c->auth = ar_malloc(n))) {
      snprintf(c->auth, n, "Authorization: Bearer %s", p->api_key);
      if ((h = curl_slist_append(c->hdr, c->auth))) c->hdr = h;
    } else h = NULL;
  }
  if (!ok || !h) { ar_asr_close(c); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  *out = c;
  return AR_OK;
}

typedef struct xfer { ar_buf body; char retry_after[32]; } xfer;

static size_t on_header(char *b, size_t size, size_t n, void *ud) {
  xfer *x = ud;
  size_t len = size * n;
  if (len >= 5 && !strncmp(b, "HTTP/", 5)) x->retry_after[0] = 0;   /* a new response */
  else if (len > 12 && !strncasecmp(b, "retry-after:", 12)) {
    size_t k = AR_MIN(len - 12, sizeof x->retry_after - 1);
    memcpy(x->retry_after, b + 12, k);
    x->retry_after[k] = 0;
  }
  return len;
}

static size_t on_write(char *b, size_t size, size_t n, void *ud) {
  xfer *x = ud;
  return ar_buf_append(&x->body, b, size * n) ? 0 : size * n;
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

ar_status ar_asr_transcribe(ar_asr_client *c, const void *wav, size_t len, const char *filename, double chunk_s,
                            ar_asr_segs *out, int *too_large, int *no_segments, ar_error *err) {
  memset(out, 0, sizeof *out);
  *too_large = *no_segments = 0;
  const char *ep = c->endpoint;
  CURL *h = curl_easy_init();
  curl_mime *form = h ? build_form(c, h, wav, len, filename) : NULL;
  if (!form) { if (h) curl_easy_cleanup(h); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  xfer x;
  memset(&x, 0, sizeof x);
  curl_easy_setopt(h, CURLOPT_URL, ep);
  curl_easy_setopt(h, CURLOPT_MIMEPOST, form);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, c->hdr);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "aularag/" AR_VERSION);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(c->p.connect_timeout_ms > 0 ? c->p.connect_timeout_ms : 10000));
  if (c->p.timeout_ms > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)c->p.timeout_ms);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &x);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  int max_tries = 1 + (c->p.max_retries > 0 ? c->p.max_retries : 0);
  ar_error e = {AR_OK, ""};
  ar_status st = AR_OK;
  for (int attempt = 1;; attempt++) {
    char errbuf[CURL_ERROR_SIZE] = "";
    x.body.n = 0;
    x.retry_after[0] = 0;
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    int retry = 0;
    if (x.body.oom) { st = ar_fail(&e, AR_ERR_NOMEM, "out of memory"); break; }
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      /* Decision: not retried; a chunk the server cannot finish in time would only time out again */
      ar_fail(&e, AR_ERR_TIMEOUT, "transcription server %s: no reply within %.0f s (timeout)", ep,
              c->p.timeout_ms / 1000.0);
    } else if (rc != CURLE_OK) {
      ar_fail(&e, AR_ERR_HTTP, "transcription server %s: %s", ep, errbuf[0] ? errbuf : curl_easy_strerror(rc));
      retry = ar_http_retryable_curl(rc);
    } else if (status == 413) {
      char detail[240];
      ar_http_error_detail(x.body.p, x.body.n, detail);
      ar_fail(&e, AR_ERR_HTTP, "transcription server %s refused a %zu-byte upload as too large (HTTP 413)%s", ep,
              len, detail);
      *too_large = 1;
    } else if (status / 100 != 2) {
      char detail[240];
      ar_http_error_detail(x.body.p, x.body.n, detail);
      ar_fail(&e, AR_ERR_HTTP, "transcription server %s answered HTTP %ld%s", ep, status, detail);
      retry = ar_http_retryable_status(status);
    } else {
      st = ar_asr_parse_reply(x.body.p ? x.body.p : "", x.body.n, chunk_s, out, no_segments, ep, &e);
      break;
    }
    if (!retry || attempt >= max_tries) {
      if (retry) {
        size_t l = strlen(e.msg);
        snprintf(e.msg + l, sizeof e.msg - l, " (gave up after %d attempts)", attempt);
      }
      st = e.status;
      break;
    }
    ar_http_sleep_ms(ar_http_backoff_ms(attempt, ar_http_retry_after_s(x.retry_after), c->p.retry_base_ms,
                                        c->p.retry_max_ms));
  }
  curl_easy_cleanup(h);
  curl_mime_free(form);
  ar_buf_free(&x.body);
  if (st) return ar_fail(err, st, "%s", e.msg);
  return AR_OK;
}
