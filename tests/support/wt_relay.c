/*
 * wt_relay.c: the wt-relay tool, the impairing UDP relay of relay.h on the
 * command line, to put loss, delay, duplication and reordering between
 * wt-client and wt-server by hand:
 *
 *   wt-relay --upstream ADDR:PORT [--listen ADDR:PORT] [--seed N]
 *            [--loss P] [--delay-ms N] [--reorder P] [--duplicate P]
 *
 * The impairments apply to both directions. It prints its port, runs until
 * SIGINT or SIGTERM, then prints what each direction saw.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay.h"

static volatile int stop;
static void on_signal(int sig) { stop = sig; }

/* "ADDR:PORT" (the last colon separates, so IPv6 works without brackets). */
static int split(char *s, const char **addr, uint16_t *port) {
  char *c = strrchr(s, ':');
  if (!c) return -1;
  *c = 0;
  *addr = s;
  *port = (uint16_t)atoi(c + 1);
  return 0;
}

static int parse(int argc, char **argv, relay_config *c, relay_impair *imp) {
  memset(c, 0, sizeof(*c));
  memset(imp, 0, sizeof(*imp));
  for (int i = 1; i + 1 < argc; i += 2) {
    const char *o = argv[i];
    char *v = argv[i + 1];
    if (!strcmp(o, "--upstream") && !split(v, &c->upstream_addr, &c->upstream_port)) continue;
    if (!strcmp(o, "--listen") && !split(v, &c->listen_addr, &c->listen_port)) continue;
    if (!strcmp(o, "--seed"))
      c->seed = strtoull(v, NULL, 0);
    else if (!strcmp(o, "--loss"))
      imp->loss = atof(v);
    else if (!strcmp(o, "--delay-ms"))
      imp->delay_ms = (uint32_t)atoi(v);
    else if (!strcmp(o, "--reorder"))
      imp->reorder = atof(v);
    else if (!strcmp(o, "--duplicate"))
      imp->duplicate = atof(v);
    else
      return -1;
  }
  return argc % 2 == 1 && c->upstream_addr ? 0 : -1;
}

static void print_dir(const char *name, const relay_dir_stats *d) {
  printf("wt-relay: %s: received %llu forwarded %llu dropped %llu duplicated %llu reordered %llu overflow %llu "
         "send_errors %llu\n",
         name, (unsigned long long)d->received, (unsigned long long)d->forwarded, (unsigned long long)d->dropped,
         (unsigned long long)d->duplicated, (unsigned long long)d->reordered, (unsigned long long)d->overflow,
         (unsigned long long)d->send_errors);
}

int main(int argc, char **argv) {
  relay_config c;
  relay_impair imp;
  if (parse(argc, argv, &c, &imp)) {
    fprintf(stderr,
            "usage: %s --upstream ADDR:PORT [--listen ADDR:PORT] [--seed N] [--loss P] [--delay-ms N] "
            "[--reorder P] [--duplicate P]\n",
            argv[0]);
    return 2;
  }
  c.to_server = c.to_client = imp;
  relay *r;
  if (relay_new(&c, &r)) return 1;
  signal(SIGINT, on_signal);
  signal(SIGTERM, on_signal);
  printf("wt-relay: listening on port %u, forwarding to %s port %u\n", relay_port(r), c.upstream_addr,
         c.upstream_port);
  fflush(stdout);
  int rc = relay_run(r, &stop);
  relay_stats st;
  relay_get_stats(r, &st);
  print_dir("to server", &st.to_server);
  print_dir("to client", &st.to_client);
  relay_free(r);
  return rc ? 1 : 0;
}
