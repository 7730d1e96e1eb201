/* hub.h - internals of the Hugging Face Hub support shared by its files, tests and fuzz target: names
 * and paths of the cache (cache.c) and the parsing of the Hub's replies (reply.c). */
#ifndef AR_HUB_H
#define AR_HUB_H
#include "core/util.h"
#include <stdint.h>

/* ---- cache.c: names and the cache layout (huggingface_hub's) ----
 *   CACHE/models--ORG--NAME/blobs/<etag>                     file contents, named by the Hub's ETag
 *   CACHE/models--ORG--NAME/snapshots/<commit>/<file>        symlink -> ../../blobs/<etag>
 *   CACHE/models--ORG--NAME/refs/<revision>                  the commit the revision named (no newline) */

/* "ORG/NAME": two parts of [A-Za-z0-9._-] (<= 96 characters in all), neither starting or ending with '.'
 * or '-', no "--" or ".." (the Hub's rules; they also keep the cache folder name unambiguous). */
int ar_hub_valid_repo_id(const char *id);
/* A branch, tag or commit: [A-Za-z0-9._/-]+, no "..", not starting or ending with '/', <= 200 bytes. */
int ar_hub_valid_revision(const char *rev);
/* A file path inside the repository: relative, '/'-separated, no "." or ".." or empty part. */
int ar_hub_valid_filename(const char *f);
/* A path component the Hub gives us (commit, ETag): [A-Za-z0-9._-]+, not "." or "..", <= 128 bytes. */
int ar_hub_valid_name(const char *s);
/* 40 lowercase hex digits: a git commit (a revision given so needs no refs/ file). */
int ar_hub_is_commit(const char *s);
/* 64 lowercase hex digits: the SHA-256 the Hub gives as an LFS file's ETag. */
int ar_hub_is_sha256(const char *s);
/* "ORG/NAME" or "ORG/NAME@REV" -> repo and rev ("main" when absent). -1 when arg is not of that form. */
int ar_hub_split_ref(const char *arg, char repo[128], char rev[256]);
/* CACHE/models--ORG--NAME, malloc'd (NULL when out of memory). */
char *ar_hub_repo_dir(const char *cache, const char *repo_id);
/* Symlink target from snapshots/<commit>/<file> to blobs/<etag>: "../../" plus one "../" per folder in file. */
char *ar_hub_blob_link(const char *file, const char *etag);
/* The snapshot folder for repo at rev, from the cache alone: refs/<rev> names the commit, or rev is a commit
 * whose snapshot exists. AR_ERR_NOTFOUND (naming the cache and `aularag model pull`) when not cached. */
ar_status ar_hub_snapshot_dir(const char *cache, const char *repo_id, const char *rev, char **dir, ar_error *err);
/* mkdir -p for the folders of path (not path itself). 0 or -1 (errno set). */
int ar_hub_mkdirs_for(const char *path);

/* ---- reply.c: what the Hub answers ---- */
typedef struct ar_hub_meta {
  long status;           /* of the last status line seen */
  char commit[64];       /* X-Repo-Commit */
  char etag[160];        /* X-Linked-Etag (LFS files: their SHA-256), else ETag; "W/" and quotes stripped */
  int64_t size;          /* X-Linked-Size, else Content-Length; -1 when neither */
  int64_t linked_size, content_length;
  char linked_etag[160], plain_etag[160];
  char *location;        /* Location (a redirect), malloc'd */
  char error_code[64];   /* X-Error-Code (RepoNotFound, GatedRepo, EntryNotFound, RevisionNotFound) */
  char error_msg[256];   /* X-Error-Message */
  char retry_after[32];
} ar_hub_meta;
void ar_hub_meta_init(ar_hub_meta *m);
void ar_hub_meta_free(ar_hub_meta *m);
/* Feeds one header line as libcurl hands it over ("Name: value\r\n", any case); a status line
 * ("HTTP/1.1 302 Found") starts a new response (the fields of an earlier one in a chain are dropped).
 * Lines that are not headers are ignored. -1 only when out of memory. */
int ar_hub_meta_header(ar_hub_meta *m, const char *line, size_t len);
/* After the headers: etag and size from the linked (LFS) values when present, else the plain ones. */
void ar_hub_meta_finish(ar_hub_meta *m);
/* GET /api/models/REPO/revision/REV: {"sha": "<commit>", "siblings": [{"rfilename": "..."}...]}.
 * commit must be a 40-hex commit; file names that are not valid paths are skipped. *files: n malloc'd
 * strings in a malloc'd array (free with ar_hub_files_free). where names the reply in errors. */
ar_status ar_hub_parse_revision(const char *body, size_t len, const char *where, char commit[41], char ***files,
                                size_t *n, ar_error *err);
void ar_hub_files_free(char **files, size_t n);
#endif
