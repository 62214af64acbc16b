/*
 * router.c: longest-match routing of request paths (see router.h).
 */
#include "wt/router.h"

#include <stdlib.h>
#include <string.h>

void wt_router_init(wt_router *r) { memset(r, 0, sizeof(*r)); }

void wt_router_free(wt_router *r) {
  for (size_t i = 0; i < r->n; i++)
    free(r->routes[i].path);
  free(r->routes);
  wt_router_init(r);
}

static void recompute_flags(wt_router *r) {
  r->flags_any = 0;
  for (size_t i = 0; i < r->n; i++)
    r->flags_any |= r->routes[i].flags;
}

int wt_router_add(wt_router *r, const char *path, unsigned flags, wt_event_cb cb, void *user_data) {
  const unsigned known = WT_ROUTE_PREFIX | WT_ROUTE_HTTP | WT_ROUTE_WEBTRANSPORT;
  if (!path || path[0] != '/' || strchr(path, '?') || (flags & ~known)) return WT_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < r->n; i++) {
    wt_route *rt = &r->routes[i];
    if (strcmp(rt->path, path) == 0 && ((rt->flags ^ flags) & WT_ROUTE_PREFIX) == 0) {
      rt->flags = flags;
      rt->cb = cb;
      rt->user_data = user_data;
      recompute_flags(r);
      return 0;
    }
  }
  wt_route *nr = realloc(r->routes, (r->n + 1) * sizeof(*nr));
  if (!nr) return WT_ERR_NOMEM;
  r->routes = nr;
  char *copy = strdup(path);
  if (!copy) return WT_ERR_NOMEM;
  r->routes[r->n++] = (wt_route){copy, strlen(path), flags, cb, user_data};
  recompute_flags(r);
  return 0;
}

const wt_route *wt_router_match(const wt_router *r, const char *path) {
  if (!r || !path) return NULL;
  const char *q = strchr(path, '?');
  size_t plen = q ? (size_t)(q - path) : strlen(path);
  const wt_route *best = NULL;
  for (size_t i = 0; i < r->n; i++) {
    const wt_route *rt = &r->routes[i];
    int prefix = (rt->flags & WT_ROUTE_PREFIX) != 0;
    if (rt->len > plen || memcmp(rt->path, path, rt->len) != 0) continue;
    if (!prefix && rt->len != plen) continue;
    /* Longer wins; at equal length the exact route wins. */
    if (!best || rt->len > best->len || (rt->len == best->len && !prefix)) best = rt;
  }
  return best;
}
