/*
 * api.c: the small public accessors of the request object and the option
 * initialisers.
 */
#include <string.h>

#include "wt/wt_internal.h"

const char *wt_request_path(const wt_request *r) { return r ? r->s->path : NULL; }
const char *wt_request_authority(const wt_request *r) { return r ? r->s->authority : NULL; }
const char *wt_request_origin(const wt_request *r) { return r ? r->s->origin : NULL; }
const char *wt_request_header(const wt_request *r, const char *name) {
  return r && name ? wt_h3_headers_get(r->h, name) : NULL;
}
size_t wt_request_protocol_count(const wt_request *r) { return r ? r->nprotocols : 0; }
const char *wt_request_protocol(const wt_request *r, size_t i) {
  return r && i < r->nprotocols ? r->protocols[i] : NULL;
}
int wt_request_draft(const wt_request *r) { return r ? r->s->draft : 0; }

int wt_request_select_protocol(wt_request *r, const char *protocol) {
  if (!r || !protocol) return WT_ERR_INVALID_ARGUMENT;
  for (size_t i = 0; i < r->nprotocols; i++) {
    if (strcmp(r->protocols[i], protocol) == 0) {
      r->selected = r->protocols[i];
      return 0;
    }
  }
  return WT_ERR_INVALID_ARGUMENT;
}

const char *wt_request_selected_protocol(const wt_request *r) { return r ? r->selected : NULL; }

void wt_request_set_callback(wt_request *r, wt_event_cb cb, void *user_data) {
  if (!r) return;
  r->cb = cb;
  r->cb_user_data = user_data;
  r->cb_set = 1;
}

void wt_connect_options_init(wt_connect_options *o) {
  memset(o, 0, sizeof(*o));
  o->verify = WT_VERIFY_CA;
}
