/*
 * child.c: wt-server as a child process of a test (see child.h).
 */
#include "child.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "webtransport.h"

static void nap_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

void test_child_output(const test_child *c, char *buf, size_t cap) {
  buf[0] = 0;
  FILE *f = fopen(c->out_path, "r");
  if (!f) return;
  size_t n = fread(buf, 1, cap - 1, f);
  buf[n] = 0;
  fclose(f);
}

static int parse_banner(test_child *c) {
  char buf[4096], hex[65];
  unsigned port;
  test_child_output(c, buf, sizeof(buf));
  const char *l = strstr(buf, "wt-server listening on ");
  const char *p = l ? strstr(l, " port ") : NULL;
  const char *h = strstr(buf, "certificate sha256: ");
  if (!p || !h || sscanf(p, " port %u", &port) != 1 || sscanf(h, "certificate sha256: %64[0-9a-f]", hex) != 1)
    return -1;
  c->port = (uint16_t)port;
  return wt_parse_sha256(hex, c->hash);
}

int test_child_spawn(test_child *c, const char *bin, const char *const *args) {
  snprintf(c->out_path, sizeof(c->out_path), "/tmp/wt_child_XXXXXX");
  int fd = mkstemp(c->out_path);
  if (fd < 0) return -1;
  const char *argv[16] = {bin, "--port", "0"};
  for (int i = 0; args[i] && i < 12; i++)
    argv[3 + i] = args[i];
  pid_t parent = getpid();
  c->pid = fork();
  if (c->pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(fd, 1);
    execv(bin, (char *const *)argv);
    _exit(127);
  }
  close(fd);
  if (c->pid < 0) return -1;
  for (int i = 0; i < 1000; i++) {
    if (parse_banner(c) == 0) return 0;
    if (waitpid(c->pid, NULL, WNOHANG) == c->pid) break;
    nap_ms(10);
  }
  return -1;
}

int test_child_stop(test_child *c, int sig) {
  int status = -1;
  if (c->pid <= 0) return -1;
  kill(c->pid, sig);
  for (int i = 0; i < 1000; i++) {
    if (waitpid(c->pid, &status, WNOHANG) == c->pid) break;
    nap_ms(10);
    status = -1;
  }
  if (status == -1) {
    kill(c->pid, SIGKILL);
    waitpid(c->pid, NULL, 0);
  }
  c->pid = 0;
  unlink(c->out_path);
  return status;
}

long test_child_rss_kib(const test_child *c) {
  char path[64], line[256];
  snprintf(path, sizeof(path), "/proc/%d/status", (int)c->pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long kib = -1;
  while (fgets(line, sizeof(line), f))
    if (sscanf(line, "VmRSS: %ld kB", &kib) == 1) break;
  fclose(f);
  return kib;
}
