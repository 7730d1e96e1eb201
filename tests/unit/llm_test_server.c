/* llm_test_server.c - spawn tests/llm_server.py on a free port and read its JSON Lines log. */
#include "llm_test_server.h"
#include "test.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *server_path(char *buf, size_t n) {
  const char *root = getenv("AULARAG_ROOT");
  snprintf(buf, n, "%s/tests/llm_server.py", root && *root ? root : ".");
  return buf;
}

int llm_srv_start(llm_srv *s, const char *script_json) {
  static int seq;
  char script[512], path[512];
  memset(s, 0, sizeof *s);
  snprintf(script, sizeof script, "%s/llm_script_%d_%d.json", test_tmpdir(), (int)getpid(), seq);
  snprintf(s->log, sizeof s->log, "%s/llm_log_%d_%d.jsonl", test_tmpdir(), (int)getpid(), seq++);
  FILE *f = fopen(script, "w");
  if (!f) return -1;
  fputs(script_json, f);
  fclose(f);
  int in[2], out[2];
  if (pipe(in) || pipe(out)) return -1;
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]); close(in[1]); close(out[0]); close(out[1]);
    execl("/usr/bin/python3", "python3", server_path(path, sizeof path), "--script", script, "--log", s->log,
          "--stdin-eof", (char *)NULL);
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  s->pid = pid;
  s->in_fd = in[1];
  char line[64];
  size_t k = 0;
  while (k < sizeof line - 1) {
    ssize_t r = read(out[0], line + k, 1);
    if (r <= 0 || line[k] == '\n') break;
    k++;
  }
  line[k] = 0;
  close(out[0]);
  if (sscanf(line, "PORT %d", &s->port) != 1) { llm_srv_stop(s); return -1; }
  snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", s->port);
  return 0;
}

void llm_srv_stop(llm_srv *s) {
  if (s->pid <= 0) return;
  close(s->in_fd);
  int st;
  for (int i = 0; i < 200; i++) {  /* up to 2 s for a clean exit, then kill */
    if (waitpid(s->pid, &st, WNOHANG) == s->pid) { s->pid = 0; return; }
    usleep(10000);
  }
  kill(s->pid, SIGKILL);
  waitpid(s->pid, &st, 0);
  s->pid = 0;
}

json_t *llm_srv_requests(const llm_srv *s) {
  json_t *arr = json_array();
  FILE *f = fopen(s->log, "r");
  if (!f) return arr;
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, f) > 0) {
    json_t *o = json_loads(line, 0, NULL);
    if (o) json_array_append_new(arr, o);
  }
  free(line);
  fclose(f);
  return arr;
}
