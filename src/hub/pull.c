/* pull.c - ar_hub_pull: the encoder's files from a Hugging Face Hub endpoint into the Hub cache, the way
 * huggingface_hub does it: the revision's commit and file list from GET /api/models/REPO/revision/REV, then
 * per file HEAD /REPO/resolve/COMMIT/FILE (relative redirects followed, an absolute one is the CDN URL to
 * download from; X-Linked-Etag / X-Linked-Size describe LFS files), a GET with Range into
 * blobs/<etag>.incomplete, SHA-256 check, rename to blobs/<etag>, symlink from snapshots/COMMIT/FILE, and
 * refs/REV last. Every step leaves the cache usable when killed: a snapshot is only reachable once its ref
 * is written, and a partial blob is resumed by the next pull. */
#include "hub/hub.h"
#include "core/http.h"
#include "llm/llm.h"   /* ar_sha256 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

ar_hub_params ar_hub_default_params(void) {
  ar_hub_params p;
  memset(&p, 0, sizeof p);
  p.connect_timeout_ms = 10000;
  p.low_speed_s = 60;
  p.max_retries = 5;
  p.retry_base_ms = 500;
  return p;
}

void ar_hub_params_from_env(ar_hub_params *p) {
  if (!p->endpoint) p->endpoint = ar_env("HF_ENDPOINT");
  if (!p->token) p->token = ar_env("HF_TOKEN");
  if (!p->token) p->token = ar_env("HUGGING_FACE_HUB_TOKEN");  /* the older name huggingface_hub still reads */
}

/* The encoder's files: the first three groups are required (one tokenizer of the two), the rest are
 * taken when the repository has them (sentence-transformers' pooling and prompt configuration). */
static const char *const WANT[] = {"config.json", "model.safetensors", "tokenizer.json", "sentencepiece.bpe.model",
                                   "tokenizer_config.json", "special_tokens_map.json", "modules.json",
                                   "1_Pooling/config.json", "config_sentence_transformers.json",
                                   "sentence_bert_config.json"};

typedef struct pull {
  const ar_hub_params *p;
  const char *repo;
  char *endpoint;        /* without a trailing '/' */
  size_t origin_len;     /* scheme://host[:port] of endpoint: the only place the token is sent */
  CURL *h;
  struct curl_slist *hdr_auth, *hdr_plain;
} pull;

static size_t origin_len(const char *url) {
  const char *s = strstr(url, "://");
  if (!s) return 0;
  const char *e = strchr(s + 3, '/');
  return e ? (size_t)(e - url) : strlen(url);
}

static int same_origin(const pull *P, const char *url) {
  return origin_len(url) == P->origin_len && !strncmp(url, P->endpoint, P->origin_len);
}

static size_t on_header(char *b, size_t size, size_t n, void *ud) {
  return ar_hub_meta_header(ud, b, size * n) ? 0 : size * n;
}

static size_t on_body_buf(char *b, size_t size, size_t n, void *ud) {
  ar_buf *buf = ud;
  if (buf->n + size * n > ((size_t)16 << 20)) return 0;   /* a file list is small: this is not one */
  return ar_buf_append(buf, b, size * n) ? 0 : size * n;
}

static void setup(pull *P, const char *url, ar_hub_meta *m) {
  CURL *h = P->h;
  curl_easy_reset(h);
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "aularag/" AR_VERSION);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  /* a Location from the Hub is followed: never to file:// or anything but the web */
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)P->p->connect_timeout_ms);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1024L);
  curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(P->p->low_speed_s > 0 ? P->p->low_speed_s : 60));
  /* the token goes to the endpoint only, never to the CDN a download is redirected to */
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, same_origin(P, url) ? P->hdr_auth : P->hdr_plain);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, m);
  ar_hub_meta_free(m);
  ar_hub_meta_init(m);
}

/* An error status as a message: 401/403 name HF_TOKEN, 404 says what the Hub did not find. */
static ar_status status_error(const pull *P, long status, const ar_hub_meta *m, const char *url, const char *what,
                              ar_error *err) {
  char detail[300] = "";
  if (m->error_msg[0]) snprintf(detail, sizeof detail, " (%s)", m->error_msg);
  else if (m->error_code[0]) snprintf(detail, sizeof detail, " (%s)", m->error_code);
  if (status == 401 || status == 403) {
    if (!P->p->token)
      return ar_fail(err, AR_ERR_HTTP, "%s: %s: HTTP %ld at %s%s: the repository is gated, private or missing; set "
                     "HF_TOKEN to an access token (https://huggingface.co/settings/tokens) after accepting the model's "
                     "terms on its page", P->repo, what, status, url, detail);
    return ar_fail(err, AR_ERR_HTTP, "%s: %s: HTTP %ld at %s%s: the token in HF_TOKEN was refused or has no access "
                   "to this repository", P->repo, what, status, url, detail);
  }
  if (status == 404)
    return ar_fail(err, AR_ERR_NOTFOUND, "%s: %s: not found (HTTP 404) at %s%s", P->repo, what, url, detail);
  return ar_fail(err, AR_ERR_HTTP, "%s: %s: HTTP %ld at %s%s", P->repo, what, status, url, detail);
}

static int retryable(CURLcode rc, long status) {
  return rc == CURLE_OK ? ar_http_retryable_status(status)
                        : ar_http_retryable_curl(rc) || rc == CURLE_OPERATION_TIMEDOUT;
}

static void backoff(const pull *P, int attempt, const ar_hub_meta *m) {
  ar_http_sleep_ms(ar_http_backoff_ms(attempt, ar_http_retry_after_s(m->retry_after[0] ? m->retry_after : NULL),
                                      P->p->retry_base_ms, 30000));
}

/* GET url into body (retrying what is worth it). */
static ar_status get_small(pull *P, const char *url, const char *what, ar_buf *body, ar_error *err) {
  ar_hub_meta m;
  ar_hub_meta_init(&m);
  ar_status s = AR_OK;
  for (int attempt = 1;; attempt++) {
    char errbuf[CURL_ERROR_SIZE] = "";
    body->n = 0;
    setup(P, url, &m);
    curl_easy_setopt(P->h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(P->h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(P->h, CURLOPT_WRITEFUNCTION, on_body_buf);
    curl_easy_setopt(P->h, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(P->h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(P->h);
    long status = 0;
    curl_easy_getinfo(P->h, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status >= 200 && status < 300) break;
    if (attempt <= P->p->max_retries && retryable(rc, status)) { backoff(P, attempt, &m); continue; }
    if (rc != CURLE_OK)
      s = ar_fail(err, AR_ERR_HTTP, "%s: %s: %s: %s", P->repo, what, url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else
      s = status_error(P, status, &m, url, what, err);
    break;
  }
  ar_hub_meta_free(&m);
  return s;
}

/* HEAD .../resolve/COMMIT/FILE: *m holds the final response's headers, *dl_url where to GET the bytes. */
static ar_status head_file(pull *P, const char *commit, const char *file, ar_hub_meta *m, char **dl_url,
                           ar_error *err) {
  *dl_url = NULL;
  ar_buf url = {0};
  ar_buf_printf(&url, "%s/%s/resolve/%s/", P->endpoint, P->repo, commit);
  for (const char *p = file; *p;) {   /* each path part escaped, the '/' kept (huggingface_hub's quote) */
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    char *x = curl_easy_escape(P->h, p, (int)n);
    if (!x) { ar_buf_free(&url); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
    ar_buf_printf(&url, "%s%s", x, e ? "/" : "");
    curl_free(x);
    p += n + (e ? 1 : 0);
  }
  if (url.oom) { ar_buf_free(&url); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  ar_status s = AR_OK;
  for (int hops = 0, attempt = 1;;) {
    char errbuf[CURL_ERROR_SIZE] = "";
    setup(P, url.p, m);
    curl_easy_setopt(P->h, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(P->h, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(P->h);
    long status = 0;
    curl_easy_getinfo(P->h, CURLINFO_RESPONSE_CODE, &status);
    if (rc == CURLE_OK && status >= 300 && status < 400 && m->location) {
      const char *loc = m->location;
      if (loc[0] == '/' && loc[1] != '/') {   /* relative: the repository moved; ask again there */
        if (++hops > 5) { s = ar_fail(err, AR_ERR_HTTP, "%s: %s: too many redirects from %s", P->repo, file, url.p); break; }
        ar_buf next = {0};
        ar_buf_append(&next, url.p, origin_len(url.p));
        ar_buf_puts(&next, loc);
        if (next.oom) { ar_buf_free(&next); s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
        ar_buf_free(&url);
        url = next;
        continue;
      }
      if (!strstr(loc, "://")) { s = ar_fail(err, AR_ERR_HTTP, "%s: %s: odd redirect '%s' from %s", P->repo, file, loc, url.p); break; }
      if (!(*dl_url = ar_strdup(loc))) s = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      break;
    }
    if (rc == CURLE_OK && status >= 200 && status < 300) {
      if (!(*dl_url = ar_strdup(url.p))) s = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      break;
    }
    if (attempt <= P->p->max_retries && retryable(rc, status)) { backoff(P, attempt++, m); continue; }
    if (rc != CURLE_OK)
      s = ar_fail(err, AR_ERR_HTTP, "%s: %s: %s: %s", P->repo, file, url.p, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    else
      s = status_error(P, status, m, url.p, file, err);
    break;
  }
  ar_buf_free(&url);
  ar_hub_meta_finish(m);
  if (!s && !ar_hub_valid_name(m->etag))
    s = ar_fail(err, AR_ERR_PARSE, "%s: %s: the Hub's reply has no usable ETag ('%s')", P->repo, file, m->etag);
  if (s) { free(*dl_url); *dl_url = NULL; }
  return s;
}

/* ---- the body of one file into blobs/<etag>.incomplete ---- */
typedef struct dl {
  pull *P;
  const char *file;
  int fd;
  int64_t offset;        /* bytes already in the partial file when this try started */
  int64_t total;         /* expected size, -1 unknown */
  long status;           /* of the response whose body arrives (after redirects) */
  int started, write_errno, aborted;
  ar_buf errbody;
} dl;

static size_t on_body_file(char *b, size_t size, size_t n, void *ud) {
  dl *d = ud;
  size_t len = size * n;
  if (!d->started) {
    d->started = 1;
    curl_easy_getinfo(d->P->h, CURLINFO_RESPONSE_CODE, &d->status);
    if (d->status == 200 && d->offset > 0) {   /* the server ignored our Range: start over */
      if (ftruncate(d->fd, 0) != 0) { d->write_errno = errno; return 0; }
      d->offset = 0;
    }
  }
  if (d->status < 200 || d->status >= 300) {   /* an error page: keep its start for the message */
    if (d->errbody.n < 2000) ar_buf_append(&d->errbody, b, AR_MIN(len, 2000 - d->errbody.n));
    return len;
  }
  for (size_t off = 0; off < len;) {
    ssize_t w = write(d->fd, b + off, len - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) { d->write_errno = errno ? errno : EIO; return 0; }
    off += (size_t)w;
  }
  return len;
}

static int report(const pull *P, const char *file, int64_t done, int64_t total) {
  if (!P->p->progress) return 0;
  ar_progress pr = {.stage = "download", .file = file, .done = done, .total = total};
  return P->p->progress(&pr, P->p->user_data);
}

static int on_xfer(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ult, curl_off_t uln) {
  (void)dltotal; (void)ult; (void)uln;
  dl *d = ud;
  if (d->status >= 300 || !d->started) return 0;
  if (report(d->P, d->file, d->offset + (int64_t)dlnow, d->total)) { d->aborted = 1; return 1; }
  return 0;
}

static ar_status hash_file(const char *path, char hex[65], ar_error *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ar_fail(err, AR_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
  enum { CHUNK = 1 << 20 };
  unsigned char *buf = ar_malloc(CHUNK), d[32];
  if (!buf) { close(fd); return ar_fail(err, AR_ERR_NOMEM, "out of memory"); }
  ar_sha256 s;
  ar_sha256_init(&s);
  ssize_t r;
  while ((r = read(fd, buf, CHUNK)) > 0) ar_sha256_update(&s, buf, (size_t)r);
  int e = errno;
  free(buf);
  close(fd);
  if (r < 0) return ar_fail(err, AR_ERR_IO, "%s: read failed: %s", path, strerror(e));
  ar_sha256_final(&s, d);
  for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
  return AR_OK;
}

static int64_t file_size(int fd) {
  struct stat st;
  return fstat(fd, &st) == 0 ? (int64_t)st.st_size : -1;
}

static ar_status download(pull *P, const char *file, const char *url, const ar_hub_meta *m, const char *blob,
                          ar_error *err) {
  ar_buf part = {0};
  ar_buf_printf(&part, "%s.incomplete", blob);
  if (part.oom) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  ar_status s = AR_OK;
  dl d = {.P = P, .file = file, .total = m->size};
  /* two pulls of one model at once: the second waits for the first's file instead of appending to it, then
   * finds the blob, or (the first removed a corrupt file) starts on a fresh partial file */
  for (int tries = 0;; tries++) {
    d.fd = open(part.p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (d.fd < 0) { s = ar_fail(err, AR_ERR_IO, "%s: cannot create: %s", part.p, strerror(errno)); goto out; }
    if (flock(d.fd, LOCK_EX) != 0) {
      s = ar_fail(err, AR_ERR_IO, "%s: cannot lock: %s", part.p, strerror(errno));
      close(d.fd);
      goto out;
    }
    struct stat bst, pst, fst;
    int ours = stat(part.p, &pst) == 0 && fstat(d.fd, &fst) == 0 && pst.st_ino == fst.st_ino;
    if (stat(blob, &bst) == 0) {   /* the other pull finished it while we waited */
      if (ours) unlink(part.p);
      close(d.fd);
      goto out;
    }
    if (ours) break;
    close(d.fd);
    if (tries == 5) { s = ar_fail(err, AR_ERR_IO, "%s: keeps changing under us (another pull?)", part.p); goto out; }
  }
  ar_hub_meta hm;
  ar_hub_meta_init(&hm);
  for (int attempt = 1;; attempt++) {
    d.offset = file_size(d.fd);
    if (m->size >= 0 && d.offset == m->size) break;   /* a kill after the last byte, before the rename */
    if (m->size >= 0 && d.offset > m->size) {
      if (ftruncate(d.fd, 0) != 0) { s = ar_fail(err, AR_ERR_IO, "%s: %s", part.p, strerror(errno)); break; }
      d.offset = 0;
    }
    char errbuf[CURL_ERROR_SIZE] = "", range[48];
    d.started = 0;
    d.status = 0;
    d.errbody.n = 0;
    setup(P, url, &hm);
    curl_easy_setopt(P->h, CURLOPT_FOLLOWLOCATION, 1L);  /* a CDN may redirect once more */
    curl_easy_setopt(P->h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(P->h, CURLOPT_WRITEFUNCTION, on_body_file);
    curl_easy_setopt(P->h, CURLOPT_WRITEDATA, &d);
    curl_easy_setopt(P->h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(P->h, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(P->h, CURLOPT_XFERINFODATA, &d);
    curl_easy_setopt(P->h, CURLOPT_ERRORBUFFER, errbuf);
    if (d.offset > 0) {
      snprintf(range, sizeof range, "%lld-", (long long)d.offset);
      curl_easy_setopt(P->h, CURLOPT_RANGE, range);
    }
    CURLcode rc = curl_easy_perform(P->h);
    long status = 0;
    curl_easy_getinfo(P->h, CURLINFO_RESPONSE_CODE, &status);
    if (d.aborted) { s = ar_fail(err, AR_ERR_ABORTED, "%s: %s: download interrupted (kept %s to resume)", P->repo, file, part.p); break; }
    if (d.write_errno) { s = ar_fail(err, AR_ERR_IO, "%s: write failed: %s", part.p, strerror(d.write_errno)); break; }
    int64_t have = file_size(d.fd);
    if (rc == CURLE_OK && (status == 200 || status == 206) && (m->size < 0 || have == m->size)) break;
    if (rc == CURLE_OK && status == 416) {   /* nothing past our offset: complete, or a stale partial */
      if (m->size >= 0 && have == m->size) break;
      if (ftruncate(d.fd, 0) != 0) { s = ar_fail(err, AR_ERR_IO, "%s: %s", part.p, strerror(errno)); break; }
    }
    /* a body that ended early (the connection was cut) is resumed from where it stopped */
    int again = (rc == CURLE_OK && (status == 200 || status == 206 || status == 416)) || retryable(rc, status);
    if (again && attempt <= P->p->max_retries) { backoff(P, attempt, &hm); continue; }
    if (rc != CURLE_OK)
      s = ar_fail(err, AR_ERR_HTTP, "%s: %s: %s: %s (%lld of %lld bytes kept in %s; run the pull again to resume)",
                  P->repo, file, url, errbuf[0] ? errbuf : curl_easy_strerror(rc), (long long)have,
                  (long long)m->size, part.p);
    else if (status >= 200 && status < 300)
      s = ar_fail(err, AR_ERR_HTTP, "%s: %s: got %lld bytes, the Hub said %lld (X-Linked-Size/Content-Length)",
                  P->repo, file, (long long)have, (long long)m->size);
    else
      s = status_error(P, status, &hm, url, file, err);
    break;
  }
  ar_hub_meta_free(&hm);
  if (!s && fsync(d.fd) != 0) s = ar_fail(err, AR_ERR_IO, "%s: fsync: %s", part.p, strerror(errno));
  if (!s && ar_hub_is_sha256(m->etag)) {   /* an LFS file: its ETag is its SHA-256 */
    char got[65];
    if (!(s = hash_file(part.p, got, err)) && strcmp(got, m->etag)) {
      unlink(part.p);
      s = ar_fail(err, AR_ERR_MISMATCH, "%s: %s: SHA-256 %s, but the Hub says %s (X-Linked-Etag): the download "
                  "is corrupt and was removed; run the pull again", P->repo, file, got, m->etag);
    }
  }
  if (!s && rename(part.p, blob) != 0)
    s = ar_fail(err, AR_ERR_IO, "%s: cannot rename to %s: %s", part.p, blob, strerror(errno));
  if (s && file_size(d.fd) == 0) unlink(part.p);   /* nothing to resume: leave no empty file behind */
  close(d.fd);   /* only now: the lock covers the check and the rename */
out:
  ar_buf_free(&d.errbody);
  ar_buf_free(&part);
  return s;
}

/* snapshots/COMMIT/FILE -> ../../blobs/ETAG, replaced atomically (a new symlink renamed over the old). */
static ar_status link_file(const char *repo_dir, const char *commit, const char *file, const char *etag,
                           ar_error *err) {
  ar_buf path = {0}, tmp = {0};
  char *target = ar_hub_blob_link(file, etag);
  ar_buf_printf(&path, "%s/snapshots/%s/%s", repo_dir, commit, file);
  ar_buf_printf(&tmp, "%s.tmp.%d", path.p ? path.p : "", (int)getpid());
  ar_status s = AR_OK;
  if (!target || path.oom || tmp.oom) s = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  else if (ar_hub_mkdirs_for(path.p) != 0) s = ar_fail(err, AR_ERR_IO, "%s: cannot create its folder: %s", path.p, strerror(errno));
  else {
    unlink(tmp.p);
    if (symlink(target, tmp.p) != 0 || rename(tmp.p, path.p) != 0) {
      s = ar_fail(err, AR_ERR_IO, "%s: cannot link to %s: %s", path.p, target, strerror(errno));
      unlink(tmp.p);
    }
  }
  free(target);
  ar_buf_free(&path);
  ar_buf_free(&tmp);
  return s;
}

static int has_file(char **files, size_t n, const char *f) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(files[i], f)) return 1;
  return 0;
}

/* One file: HEAD, download unless its blob is there, link. */
static ar_status pull_file(pull *P, const char *repo_dir, const char *commit, const char *file, ar_error *err) {
  ar_hub_meta m;
  ar_hub_meta_init(&m);
  char *url = NULL;
  ar_buf blob = {0};
  ar_status s = head_file(P, commit, file, &m, &url, err);
  if (s) goto out;
  ar_buf_printf(&blob, "%s/blobs/%s", repo_dir, m.etag);
  if (blob.oom) { s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto out; }
  struct stat st;
  if (stat(blob.p, &st) == 0 && S_ISREG(st.st_mode) && (m.size < 0 || (int64_t)st.st_size == m.size)) {
    if (report(P, file, (int64_t)st.st_size, (int64_t)st.st_size)) { s = ar_fail(err, AR_ERR_ABORTED, "interrupted"); goto out; }
  } else {
    if (ar_hub_mkdirs_for(blob.p) != 0) { s = ar_fail(err, AR_ERR_IO, "%s: cannot create its folder: %s", blob.p, strerror(errno)); goto out; }
    if ((s = download(P, file, url, &m, blob.p, err))) goto out;
    if (stat(blob.p, &st) == 0 && report(P, file, (int64_t)st.st_size, (int64_t)st.st_size)) {
      s = ar_fail(err, AR_ERR_ABORTED, "interrupted");
      goto out;
    }
  }
  s = link_file(repo_dir, commit, file, m.etag, err);
out:
  free(url);
  ar_buf_free(&blob);
  ar_hub_meta_free(&m);
  return s;
}

ar_status ar_hub_pull(const char *repo_id, const ar_hub_params *p, char **snapshot, ar_error *err) {
  if (snapshot) *snapshot = NULL;
  ar_hub_params dp = ar_hub_default_params();
  if (!p) p = &dp;
  if (!ar_hub_valid_repo_id(repo_id))
    return ar_fail(err, AR_ERR_INVALID, "'%s' is not a Hub model id (ORG/NAME, e.g. intfloat/multilingual-e5-small)",
                   repo_id ? repo_id : "");
  const char *rev = p->revision && *p->revision ? p->revision : "main";
  if (!ar_hub_valid_revision(rev)) return ar_fail(err, AR_ERR_INVALID, "'%s' is not a revision (branch, tag or commit)", rev);
  const char *ep = p->endpoint && *p->endpoint ? p->endpoint : "https://huggingface.co";
  if ((strncmp(ep, "http://", 7) && strncmp(ep, "https://", 8)) || !origin_len(ep))
    return ar_fail(err, AR_ERR_INVALID, "Hub endpoint '%s' (HF_ENDPOINT) is not an http(s) URL", ep);
  pull P = {.p = p, .repo = repo_id};
  char *cache = p->cache_dir && *p->cache_dir ? ar_strdup(p->cache_dir) : ar_hub_cache_dir();
  char *repo_dir = cache ? ar_hub_repo_dir(cache, repo_id) : NULL;
  char **files = NULL, commit[41];
  size_t n_files = 0;
  ar_buf api = {0}, body = {0}, auth = {0};
  ar_status s = AR_OK;
  if (!cache) { s = ar_fail(err, AR_ERR_INVALID, "no Hugging Face cache folder: set HF_HOME (or HF_HUB_CACHE)"); goto done; }
  P.endpoint = ar_strdup(ep);
  if (!repo_dir || !P.endpoint) { s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  for (size_t l = strlen(P.endpoint); l > 0 && P.endpoint[l - 1] == '/'; l--) P.endpoint[l - 1] = 0;
  P.origin_len = origin_len(P.endpoint);
  ar_http_init();
  if (!(P.h = curl_easy_init())) { s = ar_fail(err, AR_ERR_NOMEM, "cannot start libcurl"); goto done; }
  /* identity: Content-Length must be the file's size, as huggingface_hub asks */
  P.hdr_plain = curl_slist_append(NULL, "Accept-Encoding: identity");
  P.hdr_auth = curl_slist_append(NULL, "Accept-Encoding: identity");
  if (p->token && *p->token) {
    ar_buf_printf(&auth, "Authorization: Bearer %s", p->token);
    P.hdr_auth = curl_slist_append(P.hdr_auth, auth.p);
  }
  char *erev = curl_easy_escape(P.h, rev, 0);   /* '/' escaped too: refs/pr/1 is one path part */
  ar_buf_printf(&api, "%s/api/models/%s/revision/%s", P.endpoint, repo_id, erev ? erev : "");
  curl_free(erev);
  if (!P.hdr_plain || !P.hdr_auth || api.oom || auth.oom) { s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  if ((s = get_small(&P, api.p, "file list", &body, err))) goto done;
  if ((s = ar_hub_parse_revision(body.p, body.n, api.p, commit, &files, &n_files, err))) goto done;
  const char *missing = !has_file(files, n_files, "config.json")         ? "config.json"
                        : !has_file(files, n_files, "model.safetensors") ? "model.safetensors (aularag reads safetensors only)"
                        : !has_file(files, n_files, "tokenizer.json") && !has_file(files, n_files, "sentencepiece.bpe.model")
                            ? "tokenizer.json or sentencepiece.bpe.model"
                            : NULL;
  if (missing) {
    s = ar_fail(err, AR_ERR_MODEL, "%s at %s (commit %s) has no %s: not an encoder aularag can run", repo_id, rev,
                commit, missing);
    goto done;
  }
  for (size_t i = 0; i < AR_ARRAY_LEN(WANT) && !s; i++)
    if (has_file(files, n_files, WANT[i])) s = pull_file(&P, repo_dir, commit, WANT[i], err);
  if (s) goto done;
  if (strcmp(rev, commit)) {   /* the ref last: until now the new snapshot is not what REV resolves to */
    ar_buf ref = {0};
    ar_buf_printf(&ref, "%s/refs/%s", repo_dir, rev);
    if (ref.oom) s = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    else if (ar_hub_mkdirs_for(ref.p) != 0) s = ar_fail(err, AR_ERR_IO, "%s: cannot create its folder: %s", ref.p, strerror(errno));
    else s = ar_write_file_atomic(ref.p, commit, strlen(commit), err);
    ar_buf_free(&ref);
    if (s) goto done;
  }
  if (snapshot) {
    ar_buf snap = {0};
    ar_buf_printf(&snap, "%s/snapshots/%s", repo_dir, commit);
    if (snap.oom) { ar_buf_free(&snap); s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
    *snapshot = ar_buf_steal(&snap);
  }
done:
  ar_buf_free(&auth);
  ar_buf_free(&api);
  ar_buf_free(&body);
  ar_hub_files_free(files, n_files);
  if (P.h) curl_easy_cleanup(P.h);
  curl_slist_free_all(P.hdr_plain);
  curl_slist_free_all(P.hdr_auth);
  free(P.endpoint);
  free(repo_dir);
  free(cache);
  return s;
}
