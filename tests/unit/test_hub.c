/* test_hub.c - the Hub cache's names and paths (src/hub/cache.c), ORG/NAME[@REV] resolution on caches
 * built here in huggingface_hub's layout, and the parsing of the Hub's headers and file list (reply.c). */
#include "test.h"
#include "hub/hub.h"
#include <sys/stat.h>
#include <unistd.h>

TEST(hub_repo_id_rules) {
  ASSERT(ar_hub_valid_repo_id("intfloat/multilingual-e5-small"));
  ASSERT(ar_hub_valid_repo_id("a/b"));
  ASSERT(ar_hub_valid_repo_id("Org_1/Name.v2"));
  const char *bad[] = {"", "name", "a/b/c", "/b", "a/", "a--x/b", "a/b..c", ".a/b", "a/b-", "a b/c", "a/b@main",
                       "../x", "a/.."};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) ASSERT_MSG(!ar_hub_valid_repo_id(bad[i]), "'%s'", bad[i]);
  char longid[120];
  memset(longid, 'x', sizeof longid);
  longid[1] = '/';
  longid[97] = 0;
  ASSERT(!ar_hub_valid_repo_id(longid));
  ASSERT(!ar_hub_valid_repo_id(NULL));
}

TEST(hub_revision_and_file_rules) {
  ASSERT(ar_hub_valid_revision("main"));
  ASSERT(ar_hub_valid_revision("refs/pr/1"));
  ASSERT(ar_hub_valid_revision("v1.0"));
  ASSERT(!ar_hub_valid_revision("../x"));
  ASSERT(!ar_hub_valid_revision("/main"));
  ASSERT(!ar_hub_valid_revision("a//b"));
  ASSERT(!ar_hub_valid_revision(""));
  ASSERT(!ar_hub_valid_revision("a b"));
  ASSERT(ar_hub_valid_filename("1_Pooling/config.json"));
  ASSERT(!ar_hub_valid_filename("../config.json"));
  ASSERT(!ar_hub_valid_filename("a/./b"));
  ASSERT(!ar_hub_valid_filename("/etc/passwd"));
  ASSERT(!ar_hub_valid_filename("a//b"));
  ASSERT(ar_hub_valid_name("0123abc"));
  ASSERT(!ar_hub_valid_name(".."));
  ASSERT(!ar_hub_valid_name("a/b"));
  ASSERT(ar_hub_is_commit("0123456789abcdef0123456789abcdef01234567"));
  ASSERT(!ar_hub_is_commit("0123456789ABCDEF0123456789abcdef01234567"));
  ASSERT(!ar_hub_is_commit("main"));
}

TEST(hub_split_ref) {
  char repo[128], rev[256];
  ASSERT_EQ_INT(ar_hub_split_ref("intfloat/multilingual-e5-small", repo, rev), 0);
  ASSERT_STREQ(repo, "intfloat/multilingual-e5-small");
  ASSERT_STREQ(rev, "main");
  ASSERT_EQ_INT(ar_hub_split_ref("org/name@refs/pr/3", repo, rev), 0);
  ASSERT_STREQ(repo, "org/name");
  ASSERT_STREQ(rev, "refs/pr/3");
  ASSERT_EQ_INT(ar_hub_split_ref("org/name@", repo, rev), -1);
  ASSERT_EQ_INT(ar_hub_split_ref("models/e5", repo, rev), 0);   /* the form; existence is checked first */
  ASSERT_EQ_INT(ar_hub_split_ref("/abs/path", repo, rev), -1);
  ASSERT_EQ_INT(ar_hub_split_ref("./models/e5", repo, rev), -1);
  ASSERT_EQ_INT(ar_hub_split_ref("a/b/c", repo, rev), -1);
}

TEST(hub_paths) {
  char *d = ar_hub_repo_dir("/c", "intfloat/multilingual-e5-small");
  ASSERT_STREQ(d, "/c/models--intfloat--multilingual-e5-small");
  free(d);
  char *l = ar_hub_blob_link("config.json", "abc");
  ASSERT_STREQ(l, "../../blobs/abc");
  free(l);
  l = ar_hub_blob_link("1_Pooling/config.json", "abc");
  ASSERT_STREQ(l, "../../../blobs/abc");
  free(l);
}

TEST(hub_cache_dir_env) {
  const char *keep[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"};
  char *saved[5];
  for (int i = 0; i < 5; i++) { const char *v = getenv(keep[i]); saved[i] = v ? strdup(v) : NULL; unsetenv(keep[i]); }
  setenv("HOME", "/home/u", 1);
  char *c = ar_hub_cache_dir();
  int ok = c && !strcmp(c, "/home/u/.cache/huggingface/hub");
  free(c);
  setenv("XDG_CACHE_HOME", "/xdg", 1);
  c = ar_hub_cache_dir();
  ok = ok && c && !strcmp(c, "/xdg/huggingface/hub");
  free(c);
  setenv("HF_HOME", "/hf/", 1);
  c = ar_hub_cache_dir();
  ok = ok && c && !strcmp(c, "/hf/hub");
  free(c);
  setenv("HF_HUB_CACHE", "/cache/", 1);
  c = ar_hub_cache_dir();
  ok = ok && c && !strcmp(c, "/cache");
  free(c);
  setenv("HF_HUB_CACHE", "", 1);   /* empty = unset, as huggingface_hub treats it */
  c = ar_hub_cache_dir();
  ok = ok && c && !strcmp(c, "/hf/hub");
  free(c);
  for (int i = 0; i < 5; i++) {
    if (saved[i]) setenv(keep[i], saved[i], 1); else unsetenv(keep[i]);
    free(saved[i]);
  }
  ASSERT(ok);
}

static void put(const char *path, const char *text) {
  ar_hub_mkdirs_for(path);
  FILE *f = fopen(path, "w");
  if (f) { fputs(text, f); fclose(f); }
}

TEST(hub_snapshot_resolution) {
  char cache[600], p[900];
  snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
  const char *c1 = "1111111111111111111111111111111111111111", *c2 = "2222222222222222222222222222222222222222";
  snprintf(p, sizeof p, "%s/models--org--m/snapshots/%s/config.json", cache, c1);
  put(p, "{}");
  snprintf(p, sizeof p, "%s/models--org--m/snapshots/%s/config.json", cache, c2);
  put(p, "{}");
  snprintf(p, sizeof p, "%s/models--org--m/refs/main", cache);
  put(p, c1);
  snprintf(p, sizeof p, "%s/models--org--m/refs/refs/pr/1", cache);
  put(p, "2222222222222222222222222222222222222222\n");   /* a newline is tolerated */
  snprintf(p, sizeof p, "%s/models--org--m/refs/gone", cache);
  put(p, "3333333333333333333333333333333333333333");
  snprintf(p, sizeof p, "%s/models--org--m/refs/evil", cache);
  put(p, "../../../etc");
  char *dir = NULL, want[900];
  ar_error err;
  ASSERT_EQ_INT(ar_hub_snapshot_dir(cache, "org/m", "main", &dir, &err), AR_OK);
  snprintf(want, sizeof want, "%s/models--org--m/snapshots/%s", cache, c1);
  ASSERT_STREQ(dir, want);
  free(dir);
  ASSERT_EQ_INT(ar_hub_snapshot_dir(cache, "org/m", "refs/pr/1", &dir, &err), AR_OK);
  snprintf(want, sizeof want, "%s/models--org--m/snapshots/%s", cache, c2);
  ASSERT_STREQ(dir, want);
  free(dir);
  ASSERT_EQ_INT(ar_hub_snapshot_dir(cache, "org/m", c2, &dir, &err), AR_OK);   /* a commit needs no ref */
  ASSERT_STREQ(dir, want);
  free(dir);
  ASSERT_EQ_INT(ar_hub_snapshot_dir(cache, "org/m", "gone", &dir, &err), AR_ERR_NOTFOUND);
  ASSERT_MSG(strstr(err.msg, "3333") && strstr(err.msg, "aularag model pull org/m"), "%s", err.msg);
  ASSERT_EQ_INT(ar_hub_snapshot_dir(cache, "org/m", "evil", &dir, &err), AR_ERR_PARSE);
  ASSERT_EQ_INT(ar_hub_snapshot_dir(cache, "org/m", "v2", &dir, &err), AR_ERR_NOTFOUND);
  ASSERT_MSG(strstr(err.msg, "aularag model pull org/m --revision v2") && strstr(err.msg, cache), "%s", err.msg);
  ASSERT_EQ_INT(ar_hub_snapshot_dir(cache, "org/other", "main", &dir, &err), AR_ERR_NOTFOUND);
  ASSERT(dir == NULL);
}

TEST(hub_model_resolve) {
  char cache[600], p[900], *dir = NULL;
  const char *t = test_tmpdir();
  snprintf(cache, sizeof cache, "%s/hub", t);
  const char *c1 = "abababababababababababababababababababab";
  snprintf(p, sizeof p, "%s/models--org--m/snapshots/%s/config.json", cache, c1);
  put(p, "{}");
  snprintf(p, sizeof p, "%s/models--org--m/refs/main", cache);
  put(p, c1);
  char *old = getenv("HF_HUB_CACHE") ? strdup(getenv("HF_HUB_CACHE")) : NULL;
  setenv("HF_HUB_CACHE", cache, 1);
  ar_error err;
  ar_status s1 = ar_model_resolve("org/m", &dir, &err);
  snprintf(p, sizeof p, "%s/models--org--m/snapshots/%s", cache, c1);
  int ok1 = s1 == AR_OK && dir && !strcmp(dir, p);
  free(dir);
  ar_status s2 = ar_model_resolve(t, &dir, &err);     /* an existing path: itself */
  int ok2 = s2 == AR_OK && dir && !strcmp(dir, t);
  free(dir);
  ar_status s3 = ar_model_resolve("org/none", &dir, &err);
  int ok3 = s3 == AR_ERR_NOTFOUND && strstr(err.msg, "org/none: no such directory") &&
            strstr(err.msg, "aularag model pull org/none");
  ar_status s4 = ar_model_resolve("/no/such/dir", &dir, &err);   /* not the form: left to the loader's error */
  int ok4 = s4 == AR_OK && dir && !strcmp(dir, "/no/such/dir");
  free(dir);
  if (old) { setenv("HF_HUB_CACHE", old, 1); free(old); } else unsetenv("HF_HUB_CACHE");
  ASSERT(ok1);
  ASSERT(ok2);
  ASSERT_MSG(ok3, "%s", err.msg);
  ASSERT(ok4);
}

static void feed(ar_hub_meta *m, const char *lines) {
  for (const char *p = lines; *p;) {
    const char *e = strstr(p, "\r\n");
    size_t n = e ? (size_t)(e - p) + 2 : strlen(p);
    ar_hub_meta_header(m, p, n);
    p += n;
  }
}

TEST(hub_meta_headers) {
  ar_hub_meta m;
  ar_hub_meta_init(&m);
  /* an LFS file: 302 to the CDN, the linked values win over the redirect's own */
  feed(&m, "HTTP/1.1 302 Found\r\nx-repo-commit: 0123456789abcdef0123456789abcdef01234567\r\n"
           "X-Linked-Etag: \"aaaa\"\r\nETag: W/\"bbbb\"\r\nX-Linked-Size: 1234567890123\r\nContent-Length: 0\r\n"
           "Location: https://cdn.example/x?sig=1\r\n\r\n");
  ar_hub_meta_finish(&m);
  ASSERT_EQ_INT(m.status, 302);
  ASSERT_STREQ(m.commit, "0123456789abcdef0123456789abcdef01234567");
  ASSERT_STREQ(m.etag, "aaaa");
  ASSERT_EQ_INT(m.size, 1234567890123LL);
  ASSERT_STREQ(m.location, "https://cdn.example/x?sig=1");
  /* a redirect chain: the next status line drops what the first response said */
  feed(&m, "HTTP/2 200\r\netag: W/\"cccc\"\r\ncontent-length: 42\r\n\r\n");
  ar_hub_meta_finish(&m);
  ASSERT_EQ_INT(m.status, 200);
  ASSERT_STREQ(m.etag, "cccc");
  ASSERT_EQ_INT(m.size, 42);
  ASSERT(m.location == NULL && m.commit[0] == 0);
  feed(&m, "HTTP/1.1 401 Unauthorized\r\nX-Error-Code: GatedRepo\r\nX-Error-Message: Access restricted\r\n"
           "Content-Length: 99999999999999999999999\r\nno colon here\r\n");
  ar_hub_meta_finish(&m);
  ASSERT_STREQ(m.error_code, "GatedRepo");
  ASSERT_STREQ(m.error_msg, "Access restricted");
  ASSERT_EQ_INT(m.size, -1);   /* an absurd length is unknown, not a wrapped number */
  ar_hub_meta_free(&m);
}

TEST(hub_parse_revision) {
  const char *ok = "{\"id\":\"o/m\",\"sha\":\"0123456789abcdef0123456789abcdef01234567\",\"siblings\":"
                   "[{\"rfilename\":\"config.json\"},{\"rfilename\":\"1_Pooling/config.json\"},"
                   "{\"rfilename\":\"../evil\"},{\"rfilename\":7},{\"x\":1}]}";
  char commit[41], **files;
  size_t n;
  ar_error err;
  ASSERT_EQ_INT(ar_hub_parse_revision(ok, strlen(ok), "t", commit, &files, &n, &err), AR_OK);
  ASSERT_STREQ(commit, "0123456789abcdef0123456789abcdef01234567");
  ASSERT_EQ_INT(n, 2);
  ASSERT_STREQ(files[0], "config.json");
  ASSERT_STREQ(files[1], "1_Pooling/config.json");
  ar_hub_files_free(files, n);
  const char *bad[] = {"", "[]", "{\"sha\":\"main\",\"siblings\":[]}", "{\"sha\":\"0123456789abcdef0123456789abcdef01234567\"}",
                       "{\"sha\":\"../../0123456789abcdef0123456789abcdef0\",\"siblings\":[]}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    ASSERT_EQ_INT(ar_hub_parse_revision(bad[i], strlen(bad[i]), "reply.json", commit, &files, &n, &err), AR_ERR_PARSE);
    ASSERT_MSG(strstr(err.msg, "reply.json"), "%s", err.msg);
    ASSERT(files == NULL && n == 0);
  }
}

TEST(hub_list_cache) {
  char cache[600], p[900];
  snprintf(cache, sizeof cache, "%s/hub", test_tmpdir());
  const char *c1 = "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd";
  snprintf(p, sizeof p, "%s/models--b-org--m/snapshots/%s/config.json", cache, c1);
  put(p, "{}");
  snprintf(p, sizeof p, "%s/models--b-org--m/refs/main", cache);
  put(p, c1);
  snprintf(p, sizeof p, "%s/models--b-org--m/blobs/e1", cache);
  put(p, "12345");
  snprintf(p, sizeof p, "%s/models--b-org--m/blobs/e2.incomplete", cache);
  put(p, "123");
  snprintf(p, sizeof p, "%s/models--a--x/blobs/e", cache);
  put(p, "1");
  snprintf(p, sizeof p, "%s/datasets--a--y/blobs/e", cache);
  put(p, "1");
  ar_hub_cached *v;
  size_t n;
  ar_error err;
  ASSERT_EQ_INT(ar_hub_list(cache, &v, &n, &err), AR_OK);
  ASSERT_EQ_INT(n, 2);
  ASSERT_STREQ(v[0].repo_id, "a/x");
  ASSERT(v[0].main_commit == NULL);
  ASSERT_STREQ(v[1].repo_id, "b-org/m");
  ASSERT_STREQ(v[1].main_commit, c1);
  ASSERT_EQ_INT(v[1].bytes, 5);   /* the partial download does not count */
  ASSERT_EQ_INT(v[1].n_snapshots, 1);
  ar_hub_cached_free(v, n);
  snprintf(p, sizeof p, "%s/none", cache);
  ASSERT_EQ_INT(ar_hub_list(p, &v, &n, &err), AR_OK);
  ASSERT_EQ_INT(n, 0);
}
