/* reply.c - what the Hub answers, parsed: the headers of HEAD .../resolve/REV/FILE (commit, ETag, size,
 * redirect) and the JSON of GET /api/models/REPO/revision/REV (commit and file list). Kept apart from the
 * transfers so the fuzz target (tests/fuzz/fuzz_hub_reply.c) reaches them without a network. */
#include "hub/hub.h"
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <strings.h>

void ar_hub_meta_init(ar_hub_meta *m) {
  memset(m, 0, sizeof *m);
  m->size = m->linked_size = m->content_length = -1;
}

void ar_hub_meta_free(ar_hub_meta *m) {
  free(m->location);
  m->location = NULL;
}

/* value[0..n) trimmed into out (cut at cap - 1). */
static void copy_value(char *out, size_t cap, const char *v, size_t n) {
  while (n && isspace((unsigned char)*v)) { v++; n--; }
  while (n && isspace((unsigned char)v[n - 1])) n--;
  if (n >= cap) n = cap - 1;
  memcpy(out, v, n);
  out[n] = 0;
}

/* huggingface_hub's normalisation: a weak "W/" prefix and the quotes go. */
static void copy_etag(char *out, size_t cap, const char *v, size_t n) {
  copy_value(out, cap, v, n);
  char *p = out;
  if (p[0] == 'W' && p[1] == '/') p += 2;
  size_t l = strlen(p);
  if (l >= 2 && p[0] == '"' && p[l - 1] == '"') { p++; l -= 2; }
  memmove(out, p, l);
  out[l] = 0;
}

static int64_t parse_size(const char *v, size_t n) {
  char buf[32];
  copy_value(buf, sizeof buf, v, n);
  if (!buf[0]) return -1;
  int64_t x = 0;
  for (const char *p = buf; *p; p++) {
    if (!isdigit((unsigned char)*p) || x > (INT64_MAX - 9) / 10) return -1;
    x = x * 10 + (*p - '0');
  }
  return x;
}

int ar_hub_meta_header(ar_hub_meta *m, const char *line, size_t len) {
  if (len >= 5 && !strncmp(line, "HTTP/", 5)) {
    const char *sp = memchr(line, ' ', len);
    long status = 0;
    if (sp) {
      for (const char *p = sp + 1; p < line + len && isdigit((unsigned char)*p) && status < 1000; p++)
        status = status * 10 + (*p - '0');
    }
    ar_hub_meta_free(m);
    ar_hub_meta_init(m);
    m->status = status;
    return 0;
  }
  const char *colon = memchr(line, ':', len);
  if (!colon) return 0;
  size_t kn = (size_t)(colon - line);
  const char *v = colon + 1;
  size_t vn = len - kn - 1;
#define IS(name) (kn == sizeof(name) - 1 && !strncasecmp(line, name, kn))
  if (IS("X-Repo-Commit")) copy_value(m->commit, sizeof m->commit, v, vn);
  else if (IS("X-Linked-Etag")) copy_etag(m->linked_etag, sizeof m->linked_etag, v, vn);
  else if (IS("ETag")) copy_etag(m->plain_etag, sizeof m->plain_etag, v, vn);
  else if (IS("X-Linked-Size")) m->linked_size = parse_size(v, vn);
  else if (IS("Content-Length")) m->content_length = parse_size(v, vn);
  else if (IS("X-Error-Code")) copy_value(m->error_code, sizeof m->error_code, v, vn);
  else if (IS("X-Error-Message")) copy_value(m->error_msg, sizeof m->error_msg, v, vn);
  else if (IS("Retry-After")) copy_value(m->retry_after, sizeof m->retry_after, v, vn);
  else if (IS("Location")) {
    free(m->location);
    if (!(m->location = ar_malloc(vn + 1))) return -1;
    copy_value(m->location, vn + 1, v, vn);
  }
#undef IS
  return 0;
}

void ar_hub_meta_finish(ar_hub_meta *m) {
  snprintf(m->etag, sizeof m->etag, "%s", m->linked_etag[0] ? m->linked_etag : m->plain_etag);
  m->size = m->linked_size >= 0 ? m->linked_size : m->content_length;
}

void ar_hub_files_free(char **files, size_t n) {
  for (size_t i = 0; i < n; i++) free(files[i]);
  free(files);
}

ar_status ar_hub_parse_revision(const char *body, size_t len, const char *where, char commit[41], char ***files,
                                size_t *n, ar_error *err) {
  *files = NULL;
  *n = 0;
  commit[0] = 0;
  json_error_t je;
  json_t *o = json_loadb(body, len, 0, &je);
  if (!o) return ar_fail(err, AR_ERR_PARSE, "%s: reply is not JSON (line %d: %s)", where, je.line, je.text);
  ar_status s = AR_OK;
  json_t *sha = json_object_get(o, "sha"), *sib = json_object_get(o, "siblings");
  if (!json_is_string(sha) || !ar_hub_is_commit(json_string_value(sha))) {
    s = ar_fail(err, AR_ERR_PARSE, "%s: reply has no \"sha\" commit (40 hex digits)", where);
    goto done;
  }
  if (!json_is_array(sib)) {
    s = ar_fail(err, AR_ERR_PARSE, "%s: reply has no \"siblings\" file list", where);
    goto done;
  }
  strcpy(commit, json_string_value(sha));
  size_t m = json_array_size(sib);
  char **v = ar_calloc(m ? m : 1, sizeof *v);
  if (!v) { s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); goto done; }
  size_t k = 0;
  for (size_t i = 0; i < m; i++) {
    json_t *f = json_object_get(json_array_get(sib, i), "rfilename");
    if (!json_is_string(f) || !ar_hub_valid_filename(json_string_value(f))) continue;
    if (!(v[k] = ar_strdup(json_string_value(f)))) {
      ar_hub_files_free(v, k);
      s = ar_fail(err, AR_ERR_NOMEM, "out of memory");
      goto done;
    }
    k++;
  }
  *files = v;
  *n = k;
done:
  json_decref(o);
  return s;
}
