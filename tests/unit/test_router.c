/*
 * test_router.c: the routing table behind wt_transport_route: exact and
 * prefix routes, the longest match winning, exact beating prefix at equal
 * length, queries ignored, replacement, and the paths and flags refused.
 */
#include "test.h"
#include "wt/router.h"

static void cb_a(const wt_event *ev, void *ud) {}
static void cb_b(const wt_event *ev, void *ud) {}

static const char *matched(const wt_router *r, const char *path) {
  const wt_route *rt = wt_router_match(r, path);
  return rt ? rt->path : "-";
}

static void longest_match_wins(void) {
  wt_router r;
  wt_router_init(&r);
  CHECK_EQ(wt_router_add(&r, "/", WT_ROUTE_PREFIX | WT_ROUTE_HTTP, cb_a, NULL), 0);
  CHECK_EQ(wt_router_add(&r, "/static/", WT_ROUTE_PREFIX | WT_ROUTE_HTTP, cb_a, NULL), 0);
  CHECK_EQ(wt_router_add(&r, "/echo", WT_ROUTE_WEBTRANSPORT | WT_ROUTE_HTTP, cb_b, NULL), 0);
  CHECK(strcmp(matched(&r, "/"), "/") == 0);
  CHECK(strcmp(matched(&r, "/x/y"), "/") == 0);
  CHECK(strcmp(matched(&r, "/static/app.js"), "/static/") == 0);
  CHECK(strcmp(matched(&r, "/static"), "/") == 0);
  CHECK(strcmp(matched(&r, "/echo"), "/echo") == 0);
  CHECK(strcmp(matched(&r, "/echo?protocols=a"), "/echo") == 0);
  CHECK(strcmp(matched(&r, "/echo/more"), "/") == 0); /* exact routes match only themselves */
  CHECK(strcmp(matched(&r, "/?/static/x"), "/") == 0);
  CHECK_EQ(r.flags_any, WT_ROUTE_PREFIX | WT_ROUTE_HTTP | WT_ROUTE_WEBTRANSPORT);
  wt_router_free(&r);
}

static void exact_beats_prefix_and_replaces(void) {
  wt_router r;
  wt_router_init(&r);
  CHECK_EQ(wt_router_add(&r, "/a", WT_ROUTE_PREFIX | WT_ROUTE_HTTP, cb_a, NULL), 0);
  CHECK_EQ(wt_router_add(&r, "/a", WT_ROUTE_HTTP, cb_b, NULL), 0);
  CHECK_EQ(r.n, 2);
  CHECK(wt_router_match(&r, "/a")->cb == cb_b);
  CHECK(wt_router_match(&r, "/ab")->cb == cb_a);
  /* Same path and prefix bit: replaced, not added. */
  CHECK_EQ(wt_router_add(&r, "/a", WT_ROUTE_WEBTRANSPORT, cb_a, NULL), 0);
  CHECK_EQ(r.n, 2);
  CHECK(wt_router_match(&r, "/a")->cb == cb_a);
  CHECK(wt_router_match(&r, "/b") == NULL);
  CHECK(wt_router_match(NULL, "/a") == NULL);
  wt_router_free(&r);
}

static void refuses_bad_routes(void) {
  wt_router r;
  wt_router_init(&r);
  CHECK_EQ(wt_router_add(&r, "", WT_ROUTE_HTTP, cb_a, NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_router_add(&r, "a", WT_ROUTE_HTTP, cb_a, NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_router_add(&r, "/a?b", WT_ROUTE_HTTP, cb_a, NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_router_add(&r, NULL, WT_ROUTE_HTTP, cb_a, NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_router_add(&r, "/a", 0x100, cb_a, NULL), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(r.n, 0);
  wt_router_free(&r);
}

int main(void) {
  RUN(longest_match_wins);
  RUN(exact_beats_prefix_and_replaces);
  RUN(refuses_bad_routes);
  return TEST_REPORT();
}
