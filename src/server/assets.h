/* assets.h - the page's files, embedded at build time (scripts/embed_assets.sh writes the table). */
#ifndef AR_ASSETS_H
#define AR_ASSETS_H
#include <stddef.h>

typedef struct ar_web_asset {
  const char *name;             /* file name under src/server/web/, e.g. "app.js" */
  const unsigned char *data;
  size_t len;
} ar_web_asset;

extern const ar_web_asset ar_web_assets[];
extern const size_t ar_web_n_assets;
#endif
