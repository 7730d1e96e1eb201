/* videos.c - GET /api/videos: the videos an index holds, read with a short-lived read-only connection.
 * The header has no "list videos" call yet, so this reads the index's videos table (schema v1,
 * src/index/store.c) directly; swap in an index API call when there is one. */
#include "server/server.h"
#include <jansson.h>
#include <sqlite3.h>

ar_status ar_srv_videos_json(const char *index_path, char **json, ar_error *err) {
  *json = NULL;
  sqlite3 *db = NULL;
  sqlite3_stmt *q = NULL;
  ar_status st = AR_OK;
  if (sqlite3_open_v2(index_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    st = ar_fail(err, AR_ERR_DB, "%s: %s", index_path, db ? sqlite3_errmsg(db) : "cannot open");
    goto out;
  }
  sqlite3_busy_timeout(db, 5000);
  if (sqlite3_prepare_v2(db, "SELECT video_id, title, url, n_segments FROM videos ORDER BY title, video_id", -1, &q, NULL)) {
    st = ar_fail(err, AR_ERR_DB, "%s: listing videos: %s", index_path, sqlite3_errmsg(db));
    goto out;
  }
  json_t *arr = json_array();
  int rc;
  while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
    const char *id = (const char *)sqlite3_column_text(q, 0), *title = (const char *)sqlite3_column_text(q, 1),
               *url = (const char *)sqlite3_column_text(q, 2);
    json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:I}", "video_id", id ? id : "", "title",
                                         title ? title : "", "url", url ? url : "", "segments",
                                         (json_int_t)sqlite3_column_int64(q, 3)));
  }
  if (rc != SQLITE_DONE) {
    json_decref(arr);
    st = ar_fail(err, AR_ERR_DB, "%s: listing videos: %s", index_path, sqlite3_errmsg(db));
    goto out;
  }
  json_t *o = json_pack("{s:o}", "videos", arr);
  *json = o ? json_dumps(o, JSON_COMPACT) : NULL;
  json_decref(o);
  if (!*json) st = ar_fail(err, AR_ERR_NOMEM, "out of memory");
out:
  sqlite3_finalize(q);
  sqlite3_close(db);
  return st;
}
