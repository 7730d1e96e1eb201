/* cache.c - the Hugging Face cache on disk (huggingface_hub's layout): where it is, what its names may be,
 * and ORG/NAME[@REV] -> snapshot folder without any network, so every place that opens a model takes
 * "--model intfloat/multilingual-e5-small" once it has been pulled (by us, huggingface-cli or
 * sentence-transformers: the layout is the same). */
#include "hub/hub.h"
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static int name_char(int c) { return isalnum(c) || c == '.' || c == '_' || c == '-'; }

/* One part of a repo id: the Hub's rules (huggingface_hub validate_repo_id). */
static int valid_part(const char *s, size_t n) {
  if (!n || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-') return 0;
  for (size_t i = 0; i < n; i++) {
    if (!name_char((unsigned char)s[i])) return 0;
    if (i && ((s[i] == '-' && s[i - 1] == '-') || (s[i] == '.' && s[i - 1] == '.'))) return 0;
  }
  return 1;
}

int ar_hub_valid_repo_id(const char *id) {
  const char *slash = id ? strchr(id, '/') : NULL;
  if (!slash || strchr(slash + 1, '/') || strlen(id) > 96) return 0;
  return valid_part(id, (size_t)(slash - id)) && valid_part(slash + 1, strlen(slash + 1));
}

int ar_hub_valid_revision(const char *rev) {
  size_t n = rev ? strlen(rev) : 0;
  if (!n || n > 200 || rev[0] == '/' || rev[n - 1] == '/' || strstr(rev, "..") || strstr(rev, "//")) return 0;
  for (size_t i = 0; i < n; i++)
    if (!name_char((unsigned char)rev[i]) && rev[i] != '/') return 0;
  return 1;
}

int ar_hub_valid_filename(const char *f) {
  if (!f || !*f || f[0] == '/' || strlen(f) > 1000) return 0;
  for (const char *p = f;;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
    for (size_t i = 0; i < n; i++)
      if ((unsigned char)p[i] < 0x20 || p[i] == '\\') return 0;
    if (!e) return 1;
    p = e + 1;
  }
}

int ar_hub_valid_name(const char *s) {
  size_t n = s ? strlen(s) : 0;
  if (!n || n > 128 || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
  for (size_t i = 0; i < n; i++)
    if (!name_char((unsigned char)s[i])) return 0;
  return 1;
}

static int is_hex(const char *s, size_t n) {
  if (!s || strlen(s) != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i]) && !(s[i] >= 'a' && s[i] <= 'f')) return 0;
  return 1;
}
int ar_hub_is_commit(const char *s) { return is_hex(s, 40); }
int ar_hub_is_sha256(const char *s) { return is_hex(s, 64); }

int ar_hub_split_ref(const char *arg, char repo[128], char rev[256]) {
  if (!arg) return -1;
  const char *at = strchr(arg, '@');
  size_t n = at ? (size_t)(at - arg) : strlen(arg);
  if (n >= 128) return -1;
  memcpy(repo, arg, n);
  repo[n] = 0;
  if (!ar_hub_valid_repo_id(repo)) return -1;
  const char *r = at ? at + 1 : "main";
  if (strlen(r) >= 256 || !ar_hub_valid_revision(r)) return -1;
  strcpy(rev, r);
  return 0;
}

char *ar_hub_repo_dir(const char *cache, const char *repo_id) {
  ar_buf b = {0};
  ar_buf_printf(&b, "%s/models--", cache);
  for (const char *p = repo_id; *p; p++) {
    if (*p == '/') ar_buf_puts(&b, "--");
    else ar_buf_append(&b, p, 1);
  }
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

char *ar_hub_blob_link(const char *file, const char *etag) {
  ar_buf b = {0};
  ar_buf_puts(&b, "../../");
  for (const char *p = file; *p; p++)
    if (*p == '/') ar_buf_puts(&b, "../");
  ar_buf_printf(&b, "blobs/%s", etag);
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

int ar_hub_mkdirs_for(const char *path) {
  char *p = ar_strdup(path);
  if (!p) { errno = ENOMEM; return -1; }
  for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
    *s = 0;
    if (mkdir(p, 0755) != 0 && errno != EEXIST) { free(p); return -1; }
    *s = '/';
  }
  free(p);
  return 0;
}

/* huggingface_hub's defaults: HF_HUB_CACHE (or the older HUGGINGFACE_HUB_CACHE), else HF_HOME/hub, else
 * $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
char *ar_hub_cache_dir(void) {
  const char *v, *sub = "";
  if ((v = ar_env("HF_HUB_CACHE")) || (v = ar_env("HUGGINGFACE_HUB_CACHE"))) sub = "";
  else if ((v = ar_env("HF_HOME"))) sub = "/hub";
  else if ((v = ar_env("XDG_CACHE_HOME"))) sub = "/huggingface/hub";
  else if ((v = ar_env("HOME"))) sub = "/.cache/huggingface/hub";
  else return NULL;
  size_t n = strlen(v);
  while (n > 1 && v[n - 1] == '/') n--;   /* "/hf/" and "/hf" are one folder */
  ar_buf b = {0};
  ar_buf_append(&b, v, n);
  ar_buf_puts(&b, sub);
  if (b.oom) { ar_buf_free(&b); return NULL; }
  return ar_buf_steal(&b);
}

static int is_dir(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

ar_status ar_hub_snapshot_dir(const char *cache, const char *repo_id, const char *rev, char **dir, ar_error *err) {
  *dir = NULL;
  char *repo = ar_hub_repo_dir(cache, repo_id);
  if (!repo) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
  ar_buf path = {0};
  char commit[64] = "";
  ar_buf_printf(&path, "%s/refs/%s", repo, rev);
  char *ref = NULL;
  size_t len = 0;
  ar_status s = AR_OK;
  if (!path.oom && ar_read_file(path.p, &ref, &len, NULL) == AR_OK) {
    while (len && isspace((unsigned char)ref[len - 1])) ref[--len] = 0;
    if (!ar_hub_valid_name(ref) || len >= sizeof commit)
      s = ar_fail(err, AR_ERR_PARSE, "%s: not a commit hash", path.p);
    else
      strcpy(commit, ref);
    free(ref);
  } else if (ar_hub_is_commit(rev)) {
    strcpy(commit, rev);
  }
  if (!s && commit[0]) {
    path.n = 0;
    ar_buf_printf(&path, "%s/snapshots/%s", repo, commit);
    if (path.oom) s = ar_fail(err, AR_ERR_NOMEM, "out of memory");
    else if (!is_dir(path.p)) s = ar_fail(err, AR_ERR_NOTFOUND, "%s: refs/%s names commit %s, but %s is missing "
                                        "(run aularag model pull %s)", repo_id, rev, commit, path.p, repo_id);
  } else if (!s) {
    s = ar_fail(err, AR_ERR_NOTFOUND, "%s%s%s is not in the Hugging Face cache %s (no %s/refs/%s): run "
                "aularag model pull %s%s%s", repo_id, strcmp(rev, "main") ? "@" : "", strcmp(rev, "main") ? rev : "",
                cache, repo, rev, repo_id, strcmp(rev, "main") ? " --revision " : "", strcmp(rev, "main") ? rev : "");
  }
  free(repo);
  if (s) { ar_buf_free(&path); return s; }
  *dir = ar_buf_steal(&path);
  return AR_OK;
}

ar_status ar_model_resolve(const char *arg, char **dir, ar_error *err) {
  *dir = NULL;
  if (!arg || !*arg) return ar_fail(err, AR_ERR_INVALID, "no model given");
  struct stat st;
  char repo[128], rev[256];
  /* an existing path wins, so a local folder that happens to be called org/name is never shadowed */
  if (stat(arg, &st) == 0 || ar_hub_split_ref(arg, repo, rev) != 0) {
    if (!(*dir = ar_strdup(arg))) return ar_fail(err, AR_ERR_NOMEM, "out of memory");
    return AR_OK;
  }
  char *cache = ar_hub_cache_dir();
  if (!cache) return ar_fail(err, AR_ERR_NOTFOUND, "%s: no such directory, and no Hugging Face cache (set HF_HOME)", arg);
  ar_error e = {0};
  ar_status s = ar_hub_snapshot_dir(cache, repo, rev, dir, &e);
  if (s == AR_ERR_NOTFOUND)
    s = ar_fail(err, s, "%s: no such directory; as a Hub model: %s", arg, e.msg);
  else if (s)
    s = ar_fail(err, s, "%s", e.msg);
  free(cache);
  return s;
}

/* ---- listing ---- */
static int64_t dir_bytes(const char *dir) {
  DIR *d = opendir(dir);
  if (!d) return 0;
  int64_t total = 0;
  struct dirent *e;
  ar_buf p = {0};
  while ((e = readdir(d))) {
    struct stat st;
    p.n = 0;
    ar_buf_printf(&p, "%s/%s", dir, e->d_name);
    if (!p.oom && stat(p.p, &st) == 0 && S_ISREG(st.st_mode) && !strstr(e->d_name, ".incomplete"))
      total += (int64_t)st.st_size;
  }
  ar_buf_free(&p);
  closedir(d);
  return total;
}

static int cmp_cached(const void *a, const void *b) {
  return strcmp(((const ar_hub_cached *)a)->repo_id, ((const ar_hub_cached *)b)->repo_id);
}

ar_status ar_hub_list(const char *cache_dir, ar_hub_cached **out, size_t *n_out, ar_error *err) {
  *out = NULL;
  *n_out = 0;
  char *cache = cache_dir ? ar_strdup(cache_dir) : ar_hub_cache_dir();
  if (!cache) return ar_fail(err, AR_ERR_NOTFOUND, "no Hugging Face cache (set HF_HOME)");
  DIR *d = opendir(cache);
  if (!d) {
    ar_status s = errno == ENOENT ? AR_OK : ar_fail(err, AR_ERR_IO, "%s: %s", cache, strerror(errno));
    free(cache);
    return s;
  }
  ar_hub_cached *v = NULL;
  size_t n = 0, cap = 0;
  ar_status s = AR_OK;
  struct dirent *e;
  while (!s && (e = readdir(d))) {
    if (strncmp(e->d_name, "models--", 8)) continue;
    const char *sep = strstr(e->d_name + 8, "--");
    if (!sep) continue;
    if (n == cap) {
      ar_hub_cached *nv = ar_realloc(v, (cap = cap ? cap * 2 : 8) * sizeof *v);
      if (!nv) { s = ar_fail(err, AR_ERR_NOMEM, "out of memory"); break; }
      v = nv;
    }
    ar_hub_cached *c = &v[n];
    memset(c, 0, sizeof *c);
    ar_buf b = {0};
    ar_buf_append(&b, e->d_name + 8, (size_t)(sep - e->d_name - 8));
    ar_buf_printf(&b, "/%s", sep + 2);
    c->repo_id = ar_buf_steal(&b);
    b = (ar_buf){0};
    ar_buf_printf(&b, "%s/%s", cache, e->d_name);
    c->path = ar_buf_steal(&b);
    n++;
    char *snap = NULL;
    if (ar_hub_snapshot_dir(cache, c->repo_id, "main", &snap, NULL) == AR_OK) {
      const char *slash = strrchr(snap, '/');
      c->main_commit = ar_strdup(slash ? slash + 1 : snap);
      free(snap);
    }
    b = (ar_buf){0};
    ar_buf_printf(&b, "%s/blobs", c->path);
    c->bytes = dir_bytes(b.p);
    b.n = 0;
    ar_buf_printf(&b, "%s/snapshots", c->path);
    DIR *sd = opendir(b.p);
    struct dirent *se;
    while (sd && (se = readdir(sd)))
      if (se->d_name[0] != '.') c->n_snapshots++;
    if (sd) closedir(sd);
    ar_buf_free(&b);
    if (!c->repo_id || !c->path) s = ar_fail(err, AR_ERR_NOMEM, "out of memory");
  }
  closedir(d);
  free(cache);
  if (s) { ar_hub_cached_free(v, n); return s; }
  if (n) qsort(v, n, sizeof *v, cmp_cached);
  *out = v;
  *n_out = n;
  return AR_OK;
}

void ar_hub_cached_free(ar_hub_cached *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(v[i].repo_id);
    free(v[i].path);
    free(v[i].main_commit);
  }
  free(v);
}
