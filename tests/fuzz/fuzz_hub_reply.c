/* fuzz_hub_reply.c - what a Hugging Face Hub endpoint answers, through `model pull`'s own parsers
 * (src/hub/reply.c): the header lines of HEAD .../resolve/REV/FILE (status lines, ETag normalisation,
 * sizes, Location, error headers) and the JSON of GET /api/models/REPO/revision/REV (commit, file list).
 * Input: header lines up to the first NUL byte, the JSON after it. */
#include "fuzz.h"
#include "hub/hub.h"

/* Independent of the parser's own rule: no empty, "." or ".." part, not absolute (a path that stays inside
 * the snapshot folder). */
static int stays_inside(const char *f) {
  if (f[0] == '/') return 0;
  for (const char *p = f;;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (!n || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.')) return 0;
    if (!e) return 1;
    p = e + 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *p = (const char *)data;
  const char *nul = memchr(p, 0, size);
  size_t hn = nul ? (size_t)(nul - p) : size;
  ar_hub_meta m;
  ar_hub_meta_init(&m);
  for (size_t i = 0; i < hn;) {   /* one line at a time, as libcurl hands them over (newline included) */
    const char *e = memchr(p + i, '\n', hn - i);
    size_t n = e ? (size_t)(e - (p + i)) + 1 : hn - i;
    if (ar_hub_meta_header(&m, p + i, n)) break;
    i += n;
  }
  ar_hub_meta_finish(&m);
  /* what pull trusts from the headers must be safe as a path component or be refused */
  if (ar_hub_valid_name(m.etag) && (strchr(m.etag, '/') || !strcmp(m.etag, ".."))) abort();
  if (m.size < -1) abort();
  ar_hub_meta_free(&m);
  if (!nul) return 0;
  char commit[41], **files = NULL;
  size_t nf = 0;
  ar_error err;
  if (ar_hub_parse_revision(nul + 1, size - hn - 1, "fuzz", commit, &files, &nf, &err) == AR_OK) {
    if (!ar_hub_is_commit(commit)) abort();
    for (size_t i = 0; i < nf; i++)
      if (!stays_inside(files[i])) abort();
  }
  ar_hub_files_free(files, nf);
  return 0;
}
