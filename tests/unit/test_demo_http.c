/*
 * test_demo_http.c: wt-server's demo-page HTTP responder (tools/demo_http.c):
 * the answer to each kind of request head, and a real loopback connection
 * whose request arrives in pieces, plus one whose head is too large.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "demo_http.h"
#include "test.h"

static const uint8_t page[] = "<html>hi</html>";
static const demo_http_route routes[] = {
    {"/", "text/html", page, sizeof(page) - 1},
    {"/config.json", "application/json", (const uint8_t *)"{}", 2},
};

/* The status of the answer to `head`; the response goes to *resp (freed
 * by the caller) when resp is not NULL. */
static int answer(const char *head, char **resp) {
  char *out = NULL;
  size_t len = 0;
  int st = demo_http_respond(routes, 2, head, strlen(head), &out, &len);
  if (out && (len < 12 || memcmp(out, "HTTP/1.1 ", 9) != 0)) st = -1;
  if (resp)
    *resp = out;
  else
    free(out);
  return st;
}

static void serves_the_routes(void) {
  char *r;
  CHECK_EQ(answer("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n", &r), 200);
  CHECK(strstr(r, "Content-Length: 15\r\n") && strstr(r, "\r\n\r\n<html>hi</html>"));
  CHECK(strstr(r, "Content-Type: text/html\r\n") && strstr(r, "Connection: close\r\n"));
  free(r);
  CHECK_EQ(answer("GET /config.json?x=1 HTTP/1.0\r\n\r\n", &r), 200); /* the query is ignored */
  CHECK(strstr(r, "\r\n\r\n{}"));
  free(r);
}

static void refuses_everything_else(void) {
  char *r;
  CHECK_EQ(answer("GET /nope HTTP/1.1\r\n\r\n", NULL), 404);
  CHECK_EQ(answer("GET /config.json/ HTTP/1.1\r\n\r\n", NULL), 404);
  CHECK_EQ(answer("POST / HTTP/1.1\r\n\r\n", &r), 405);
  CHECK(strstr(r, "Allow: GET\r\n"));
  free(r);
  CHECK_EQ(answer("HEAD / HTTP/1.1\r\n\r\n", NULL), 405);
  CHECK_EQ(answer("GET / HTTP/2.0\r\n\r\n", NULL), 505);
  CHECK_EQ(answer("GET / HTTP/1.10\r\n\r\n", NULL), 505);
  CHECK_EQ(answer("GET / FTP/1.1\r\n\r\n", NULL), 400);
  CHECK_EQ(answer("GET nope HTTP/1.1\r\n\r\n", NULL), 400); /* not origin-form */
  CHECK_EQ(answer("GET  HTTP/1.1\r\n\r\n", NULL), 400);
  CHECK_EQ(answer("GET\r\n\r\n", NULL), 400);
  CHECK_EQ(answer("\r\n\r\n", NULL), 400);
  char longpath[600] = "GET /";
  memset(longpath + 5, 'a', 400);
  strcpy(longpath + 405, " HTTP/1.1\r\n\r\n");
  CHECK_EQ(answer(longpath, NULL), 404);
}

static int connect_to(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Runs the responder until `fd` has the whole response (the server closes
 * the connection after it); returns its length. */
static size_t collect(demo_http *d, int fd, char *buf, size_t max) {
  size_t got = 0;
  for (int i = 0; i < 2000; i++) {
    struct pollfd p = {.fd = demo_http_fd(d), .events = POLLIN};
    poll(&p, 1, 5);
    demo_http_process(d);
    ssize_t n = recv(fd, buf + got, max - got - 1, MSG_DONTWAIT);
    if (n == 0) break;
    if (n > 0) got += (size_t)n;
  }
  buf[got] = 0;
  return got;
}

static void answers_a_request_that_arrives_in_pieces(void) {
  demo_http *d;
  CHECK_EQ(demo_http_open(routes, 2, 0, &d), 0);
  CHECK(demo_http_port(d) != 0);
  int fd = connect_to(demo_http_port(d));
  CHECK(fd >= 0);
  static char buf[8192];
  CHECK(send(fd, "GET / HT", 8, 0) == 8);
  for (int i = 0; i < 20; i++)
    demo_http_process(d);
  CHECK(send(fd, "TP/1.1\r\nHost: x\r\n\r\n", 19, 0) == 19);
  CHECK(collect(d, fd, buf, sizeof(buf)) > 0);
  CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
  CHECK(strstr(buf, "<html>hi</html>"));
  close(fd);
  demo_http_free(d);
}

static void refuses_a_head_larger_than_its_buffer(void) {
  demo_http *d;
  CHECK_EQ(demo_http_open(routes, 2, 0, &d), 0);
  int fd = connect_to(demo_http_port(d));
  CHECK(fd >= 0);
  /* Exactly the buffer's size: nothing is left unread when the server
   * closes, so the close is a FIN, not a reset that could discard the 431. */
  static char big[DEMO_HTTP_MAX_HEAD], buf[8192];
  memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
  memset(big + 19, 'a', sizeof(big) - 19);
  size_t sent = 0;
  for (int i = 0; i < 200 && sent < sizeof(big); i++) {
    ssize_t n = send(fd, big + sent, sizeof(big) - sent, MSG_DONTWAIT);
    if (n > 0) sent += (size_t)n;
    demo_http_process(d);
  }
  CHECK(collect(d, fd, buf, sizeof(buf)) > 0);
  CHECK(strncmp(buf, "HTTP/1.1 431 ", 13) == 0);
  close(fd);
  demo_http_free(d);
}

/* More connections than slots: the oldest idle one is dropped, the
 * newest is served. */
static void drops_the_oldest_connection_when_full(void) {
  demo_http *d;
  CHECK_EQ(demo_http_open(routes, 2, 0, &d), 0);
  int idle[DEMO_HTTP_MAX_CONNS + 1];
  for (int i = 0; i <= DEMO_HTTP_MAX_CONNS; i++) {
    idle[i] = connect_to(demo_http_port(d));
    CHECK(idle[i] >= 0);
    usleep(1000);
    demo_http_process(d);
  }
  char c;
  CHECK_EQ(recv(idle[0], &c, 1, 0), 0); /* closed by the server */
  int fd = connect_to(demo_http_port(d));
  CHECK(fd >= 0);
  static char buf[8192];
  CHECK(send(fd, "GET /config.json HTTP/1.1\r\n\r\n", 29, 0) == 29);
  CHECK(collect(d, fd, buf, sizeof(buf)) > 0);
  CHECK(strncmp(buf, "HTTP/1.1 200 OK\r\n", 17) == 0);
  close(fd);
  for (int i = 0; i <= DEMO_HTTP_MAX_CONNS; i++)
    close(idle[i]);
  demo_http_free(d);
}

int main(void) {
  RUN(serves_the_routes);
  RUN(refuses_everything_else);
  RUN(answers_a_request_that_arrives_in_pieces);
  RUN(refuses_a_head_larger_than_its_buffer);
  RUN(drops_the_oldest_connection_when_full);
  return TEST_REPORT();
}
