/*
 * testloop.h: one epoll over several transports and helper fds (the relay)
 * so that a test drives a client, a server and whatever sits between them
 * from one thread. Not an event loop for applications: wt_transport_run
 * and the embeddable API are that.
 */
#ifndef WT_TESTLOOP_H
#define WT_TESTLOOP_H

#include "webtransport.h"

#define TESTLOOP_MAX 4

typedef struct testloop {
  int ep;
  wt_transport *t[TESTLOOP_MAX];
  int nt;
} testloop;

/* Returns 0, or -1 if no epoll fd could be made. */
int testloop_init(testloop *l);
/* Watches the transport's fd and processes it in every step. The loop does
 * not own it. Returns 0, or -1 when full. */
int testloop_add_transport(testloop *l, wt_transport *t);
/* Watches another fd (readable wakes the step); its owner processes it. */
int testloop_add_fd(testloop *l, int fd);
/* Creates a server transport (on_request/on_event with their user data)
 * and a client transport, both on 127.0.0.1 logging warnings and errors,
 * and watches both. The server has the per-address admission limits off
 * (one client address does all the load). The caller frees them. Returns 0 or -1. */
int testloop_pair(testloop *l, wt_request_cb on_request, void *request_ud, wt_event_cb on_event, void *event_ud,
                  wt_transport **srv, wt_transport **cli);
/* Connect options that verify `srv` by its certificate hash. */
void testloop_pin(wt_connect_options *o, const wt_transport *srv);
/* Waits until an fd is readable or the earliest transport timer is due
 * (never longer than cap_ms, nor than extra_ms when that is >= 0), then
 * processes every transport. Returns 0, or the first WT_ERR_* of a
 * transport. */
int testloop_step(testloop *l, int extra_ms, int cap_ms);
/* Closes the epoll fd (the transports are the caller's). */
void testloop_close(testloop *l);

#endif
