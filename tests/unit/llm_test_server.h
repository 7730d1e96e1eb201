/* llm_test_server.h - starts tests/llm_server.py for a C test and reads its request log. */
#ifndef AR_LLM_TEST_SERVER_H
#define AR_LLM_TEST_SERVER_H
#include <jansson.h>
#include <sys/types.h>

typedef struct llm_srv {
  pid_t pid;
  int in_fd;             /* the server's stdin: closing it stops the server */
  int port;
  char url[64];
  char log[512];
} llm_srv;

/* script_json: the script object (see tests/llm_server.py). Returns 0 on success. */
int llm_srv_start(llm_srv *s, const char *script_json);
void llm_srv_stop(llm_srv *s);
/* The request log as a JSON array (caller json_decref's). */
json_t *llm_srv_requests(const llm_srv *s);
#endif
