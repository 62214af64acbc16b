/*
 * test_static_files.c: wt-server --root's path mapping. Every way to spell
 * ".." (encoded, mixed case, with encoded slashes), backslashes and NUL is
 * refused; double encoding is decoded once (a literal name, not a step up).
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "static_files.h"
#include "test.h"

static static_files SF;

static int map(const char *path, char *out) { return static_files_map(&SF, path, out, 4096); }

static void maps_paths_under_the_root(void) {
  static const char *const cases[][2] = {
      {"/", "/index.html"},
      {"/a/b.txt?x=../..", "/a/b.txt"},
      {"/sub/", "/sub/index.html"},
      {"/a%20b", "/a b"},
      {"/%252e%252e/x", "/%2e%2e/x"}, /* decoded once: a literal name inside the root */
      {"/..a/b..", "/..a/b.."},       /* dots inside names are fine */
  };
  char out[4096], want[4200];
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    snprintf(want, sizeof(want), "%s%s", SF.root, cases[i][1]);
    CHECK_EQ(map(cases[i][0], out), 0);
    CHECK(strcmp(out, want) == 0);
  }
}

static void refuses_traversal_and_bad_bytes(void) {
  static const char *const bad[] = {
      "/..",         "/../etc/passwd", "/a/../../x",  "/%2e%2e/x",   "/%2E%2e/",    "/%2e%2E%2fetc",
      "/..%2f..%2f", "/a/%2e%2e",      "/.",          "/./x",        "/%2e/x",      "/a\\..\\b",
      "/%5c..%5cx",  "/x%00.html",     "/%",          "/%2",         "/%zz",        "",
      "x",           "/a/..",          "/%2e%2e%5c",  "/a/%2E%2E%2Fb",
  };
  char out[4096];
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    if (map(bad[i], out) != -1) fprintf(stderr, "accepted: %s\n", bad[i]);
    CHECK_EQ(map(bad[i], out), -1);
  }
}

static void content_types_by_extension(void) {
  CHECK(strcmp(static_files_type("/r/index.html"), "text/html; charset=utf-8") == 0);
  CHECK(strcmp(static_files_type("/r/app.JS"), "text/javascript") == 0);
  CHECK(strcmp(static_files_type("/r/x.wasm"), "application/wasm") == 0);
  CHECK(strcmp(static_files_type("/r.d/noext"), "application/octet-stream") == 0);
}

int main(void) {
  char dir[] = "/tmp/wt-static-XXXXXX";
  if (!mkdtemp(dir) || static_files_init(&SF, dir)) return 1;
  RUN(maps_paths_under_the_root);
  RUN(refuses_traversal_and_bad_bytes);
  RUN(content_types_by_extension);
  rmdir(dir);
  return TEST_REPORT();
}
