/*
 * child.h: wt-server as a child process of a test.
 *
 * For: tests that drive the real tool from outside (its command line, its
 * output, its memory). The child listens on an ephemeral port (--port 0);
 * its banner on stdout gives the port and certificate hash. It dies with
 * the test (PR_SET_PDEATHSIG), so a crashed test leaves no server behind.
 */
#ifndef WT_TEST_CHILD_H
#define WT_TEST_CHILD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct test_child {
  pid_t pid;
  uint16_t port;
  uint8_t hash[32];
  char out_path[64]; /* its stdout, in a temporary file */
} test_child;

/* Starts `bin --port 0 args...` (args NULL-terminated, at most 12) and
 * waits for its banner. Returns 0 or -1. */
int test_child_spawn(test_child *c, const char *bin, const char *const *args);

/* Sends `sig` and waits up to 10 s for the exit (then SIGKILL). Returns the
 * wait status, or -1 if the child had to be killed. Removes its output. */
int test_child_stop(test_child *c, int sig);

/* The child's stdout so far, NUL-terminated. */
void test_child_output(const test_child *c, char *buf, size_t cap);

/* Resident set size of the child in KiB (VmRSS), or -1. */
long test_child_rss_kib(const test_child *c);

#endif
