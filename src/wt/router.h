/*
 * router.h: the server's routing table (wt_transport_route): which path
 * goes to which callback, for plain HTTP requests and WebTransport sessions
 * alike.
 *
 * For: matching a request's :path (query ignored) to the longest route:
 * exact routes and prefix routes, an exact one winning a tie. Not for:
 * deciding what an unmatched request gets (that is wtconn.c/http.c).
 *
 * Ownership: the transport owns the router; routes copy their path. Each
 * wt_conn of the transport reads it through a const pointer.
 */
#ifndef WT_WT_ROUTER_H
#define WT_WT_ROUTER_H

#include <stddef.h>

#include "webtransport.h"

typedef struct wt_route {
  char *path;
  size_t len;
  unsigned flags; /* WT_ROUTE_* */
  wt_event_cb cb;
  void *user_data;
} wt_route;

typedef struct wt_router {
  wt_route *routes;
  size_t n;
  unsigned flags_any; /* union of every route's flags */
} wt_router;

void wt_router_init(wt_router *r);
void wt_router_free(wt_router *r);
/* Adds a route, or replaces the one with the same path and prefix bit.
 * Returns 0, WT_ERR_INVALID_ARGUMENT (path not starting with '/', unknown
 * flags) or WT_ERR_NOMEM. */
int wt_router_add(wt_router *r, const char *path, unsigned flags, wt_event_cb cb, void *user_data);
/* The best route for `path` (which may carry a query), or NULL. */
const wt_route *wt_router_match(const wt_router *r, const char *path);

#endif
