/*
 * soak.c: churns sessions for a while and watches the process's memory.
 * A server and a client transport run in this process over loopback. Each
 * of N slots (default 1000) runs sessions back to back: connect, echo a
 * 4 KiB bidi stream checked byte for byte, send 4 datagrams, hold the
 * session open for about --hold-ms (so that N sessions are live at once),
 * close with a code; every fourth session is closed with its stream still
 * in flight instead.
 *
 * The run is a series of rounds: churn for --round-seconds, then start no
 * more sessions and wait until both transports hold no connection at all
 * (closing periods included), then sample memory at that quiet point.
 * Samples taken while churning are printed too (RSS over time), but only
 * quiet points are compared: mid-churn memory follows how many connections
 * happen to be in flight, which follows the machine's load, not leaks.
 *
 * With --check it fails (exit 1) if memory grew after warm-up: round 0 is
 * the warm-up (pools, caches and the allocator's arenas fill); the lower
 * of the last two quiet points may exceed round 1's by at most --slack-kib
 * (default 512 KiB), for RSS and, with glibc malloc, for heap bytes in
 * use. A leak raises every later quiet point, so the lower of two still
 * shows it while a one-off blip does not. It also fails on any corrupted
 * echo, a session ended by an error, connections that never go away, no
 * session finishing in a round, or fewer than 3 rounds.
 *
 *   soak [--sessions N] [--seconds S] [--round-seconds S] [--hold-ms MS]
 *        [--sample-ms MS] [--slack-kib K] [--check]
 *
 * tests/soak/soak.sh runs it for longer; CTest runs a short --check.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testapp.h"
#include "testloop.h"
#include "webtransport.h"

#define ECHO_BYTES 4096
#define DGRAMS 4

/* ---- memory ---- */

static long rss_kib(void) {
  long pages_total, pages_resident;
  FILE *f = fopen("/proc/self/statm", "r");
  if (!f) return -1;
  int n = fscanf(f, "%ld %ld", &pages_total, &pages_resident);
  fclose(f);
  return n == 2 ? pages_resident * (sysconf(_SC_PAGESIZE) / 1024) : -1;
}

/* glibc's heap bytes in use; 0 where malloc is replaced (ASan). */
static long heap_kib(void) {
#if defined(__SANITIZE_ADDRESS__)
  return 0;
#else
  return (long)(mallinfo2().uordblks / 1024);
#endif
}

/* Gives free heap pages back to the kernel, so that RSS at a quiet point
 * measures what is in use rather than the allocator's high-water mark. */
static void trim(void) {
#if !defined(__SANITIZE_ADDRESS__)
  malloc_trim(0);
#endif
}

/* ---- one client slot: sessions back to back ---- */

enum slot_state { SLOT_IDLE, SLOT_CONNECTING, SLOT_BUSY };

typedef struct totals {
  uint64_t sessions, completed, cut_short, errors, bad_echo, dgrams_sent, dgrams_back;
} totals;

typedef struct slot {
  enum slot_state state;
  wt_session *s;
  wt_stream *st;
  uint64_t gen, sent, got;
  double hold_s, close_at; /* close_at: when to close after the echo; 0 if not set */
  totals *t;
} slot;

static uint8_t pattern(uint64_t gen, uint64_t i) { return (uint8_t)(i * 31u + gen * 7u); }

static void slot_send(slot *k) {
  uint8_t buf[ECHO_BYTES];
  while (k->st && k->sent < ECHO_BYTES) {
    size_t n = ECHO_BYTES - (size_t)k->sent;
    for (size_t i = 0; i < n; i++)
      buf[i] = pattern(k->gen, k->sent + i);
    ssize_t w = wt_stream_write(k->st, buf, n, 1);
    if (w <= 0) return;
    k->sent += (uint64_t)w;
  }
}

static void slot_ready(slot *k) {
  k->state = SLOT_BUSY;
  if (wt_session_open_stream(k->s, 1, &k->st)) {
    k->t->errors++;
    wt_session_close(k->s, 1, "no stream", 9);
    return;
  }
  slot_send(k);
  for (int i = 0; i < DGRAMS; i++) {
    uint8_t d[64];
    memset(d, (int)i, sizeof(d));
    if (wt_session_send_datagram(k->s, d, sizeof(d)) == 0) k->t->dgrams_sent++;
  }
  if (k->gen % 4 == 3) { /* closed with the echo still in flight */
    k->t->cut_short++;
    wt_session_close(k->s, 3, "cut", 3);
  }
}

static void slot_read(slot *k) {
  uint8_t buf[ECHO_BYTES];
  for (;;) {
    int fin = 0;
    ssize_t n = wt_stream_read(k->st, buf, sizeof(buf), &fin);
    if (n < 0) return;
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] != pattern(k->gen, k->got + (uint64_t)i)) k->t->bad_echo++;
    k->got += (uint64_t)n;
    if (fin) {
      if (k->got != ECHO_BYTES) k->t->bad_echo++;
      k->t->completed++;
      /* Held between half and one and a half times hold_s, spread so that
       * closes do not come in waves. */
      k->close_at = testapp_now() + k->hold_s * (0.5 + (double)(k->gen % 11) / 10.0);
      return;
    }
    if (n == 0) return;
  }
}

static void slot_event(const wt_event *ev, void *ud) {
  slot *k = ud;
  uint8_t buf[256];
  switch (ev->type) {
  case WT_EV_SESSION_READY: slot_ready(k); break;
  case WT_EV_STREAM_READABLE:
    if (ev->stream == k->st) slot_read(k);
    break;
  case WT_EV_STREAM_WRITABLE:
    if (ev->stream == k->st) slot_send(k);
    break;
  case WT_EV_STREAM_CLOSED:
    if (ev->stream == k->st) k->st = NULL;
    break;
  case WT_EV_SESSION_DATAGRAM:
    while (wt_session_receive_datagram(ev->session, buf, sizeof(buf)) >= 0)
      k->t->dgrams_back++;
    break;
  case WT_EV_SESSION_CLOSED:
    if (ev->error) {
      k->t->errors++;
      fprintf(stderr, "soak: session %llu ended with error: %s\n", (unsigned long long)k->gen, ev->detail);
    }
    k->s = NULL;
    k->st = NULL;
    k->state = SLOT_IDLE;
    break;
  default: break;
  }
}

/* ---- the run ---- */

typedef struct options {
  int sessions, check;
  double seconds, round_s, hold_s, sample_s;
  long slack_kib;
} options;

static int parse(int argc, char **argv, options *o) {
  *o = (options){.sessions = 1000, .seconds = 60, .round_s = 4, .hold_s = 1, .sample_s = 0.5, .slack_kib = 512};
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--check"))
      o->check = 1;
    else if (v && !strcmp(a, "--sessions") && ++i)
      o->sessions = atoi(v);
    else if (v && !strcmp(a, "--seconds") && ++i)
      o->seconds = atof(v);
    else if (v && !strcmp(a, "--round-seconds") && ++i)
      o->round_s = atof(v);
    else if (v && !strcmp(a, "--hold-ms") && ++i)
      o->hold_s = atof(v) / 1000;
    else if (v && !strcmp(a, "--sample-ms") && ++i)
      o->sample_s = atof(v) / 1000;
    else if (v && !strcmp(a, "--slack-kib") && ++i)
      o->slack_kib = atol(v);
    else
      return -1;
  }
  return o->sessions > 0 && o->seconds > 0 && o->round_s > 0 && o->sample_s > 0 ? 0 : -1;
}

typedef struct world {
  wt_transport *srv, *cli;
  testloop loop;
  echo_server es;
  char url[96];
  wt_connect_options co;
  slot *slots;
  int nslots;
  uint64_t gen;
  totals t;
} world;

static int world_open(world *w, int nslots, double hold_s) {
  if (testloop_init(&w->loop) ||
      testloop_pair(&w->loop, echo_server_request, &w->es, echo_server_event, &w->es, &w->srv, &w->cli))
    return -1;
  snprintf(w->url, sizeof(w->url), "https://127.0.0.1:%u/echo", wt_transport_port(w->srv));
  testloop_pin(&w->co, w->srv);
  w->co.on_event = slot_event;
  w->slots = calloc((size_t)nslots, sizeof(*w->slots));
  if (!w->slots) return -1;
  w->nslots = nslots;
  for (int i = 0; i < nslots; i++) {
    w->slots[i].t = &w->t;
    w->slots[i].hold_s = hold_s;
  }
  return 0;
}

static void world_close(world *w) {
  wt_transport_free(w->cli);
  wt_transport_free(w->srv);
  testloop_close(&w->loop);
  free(w->slots);
}

static void step(world *w) { testloop_step(&w->loop, -1, 10); }

static uint64_t connections(const world *w) {
  wt_stats ss, cs;
  wt_transport_get_stats(w->srv, &ss);
  wt_transport_get_stats(w->cli, &cs);
  return ss.connections + cs.connections;
}

/* Starts sessions on idle slots, but only while each side holds fewer
 * connections than there are slots (a closed session's connection lingers
 * for its closing period, 3 PTO, longer on a loaded machine; without this
 * bound the number of connections would follow the machine's load), and
 * with at most MAX_HANDSHAKES under way: a thousand Initials at once
 * overflow the socket buffers, and the loss that follows (with the initial
 * 333 ms RTT estimate behind its timers) stretches every round. */
#define MAX_HANDSHAKES 64
static void start_idle(world *w) {
  wt_stats ss, cs;
  wt_transport_get_stats(w->srv, &ss);
  wt_transport_get_stats(w->cli, &cs);
  uint64_t conns = ss.connections > cs.connections ? ss.connections : cs.connections;
  int room = conns >= (uint64_t)w->nslots ? 0 : w->nslots - (int)conns;
  int handshakes = 0;
  for (int i = 0; i < w->nslots; i++)
    handshakes += w->slots[i].state == SLOT_CONNECTING;
  if (room > MAX_HANDSHAKES - handshakes) room = MAX_HANDSHAKES - handshakes;
  for (int i = 0; i < w->nslots && room > 0; i++) {
    slot *k = &w->slots[i];
    if (k->state != SLOT_IDLE) continue;
    k->gen = w->gen++;
    k->sent = k->got = 0;
    k->close_at = 0;
    k->st = NULL;
    w->co.user_data = k;
    if (wt_session_connect(w->cli, w->url, &w->co, &k->s)) {
      w->t.errors++;
      continue;
    }
    w->t.sessions++;
    k->state = SLOT_CONNECTING;
    room--;
  }
}

/* Closes the sessions whose hold is over (all of them if `all`). */
static void close_due(world *w, int all) {
  double now = testapp_now();
  for (int i = 0; i < w->nslots; i++) {
    slot *k = &w->slots[i];
    if (k->s && k->close_at > 0 && (all || now >= k->close_at)) {
      k->close_at = 0;
      wt_session_close(k->s, (uint32_t)(k->gen % 100), "done", 4);
    }
  }
}

static int live(const world *w) {
  int busy = 0;
  for (int i = 0; i < w->nslots; i++)
    busy += w->slots[i].state != SLOT_IDLE;
  return busy;
}

static void print_sample(const world *w, double t, const char *what) {
  printf("soak: t=%.2f %s rss_kib=%ld heap_kib=%ld live_sessions=%d connections=%llu sessions=%llu "
         "completed=%llu errors=%llu\n",
         t, what, rss_kib(), heap_kib(), live(w), (unsigned long long)connections(w),
         (unsigned long long)w->t.sessions, (unsigned long long)w->t.completed, (unsigned long long)w->t.errors);
}

/* One quiet point: memory with no session and no connection left. */
typedef struct quiet {
  long rss, heap;
  uint64_t finished; /* sessions finished so far */
} quiet;

/* Runs sessions until `until`, sampling every o->sample_s. */
static void churn(world *w, const options *o, double t0, double until) {
  double next = testapp_now();
  for (double now = next; now < until; now = testapp_now()) {
    start_idle(w);
    close_due(w, 0);
    step(w);
    if (now >= next) {
      print_sample(w, now - t0, "churn");
      next += o->sample_s;
    }
  }
}

/* Lets running sessions finish and every connection end (closing periods
 * included). Returns 0, or -1 if that takes longer than 60 s. */
static int quiesce(world *w) {
  double end = testapp_now() + 60;
  while ((live(w) || connections(w)) && testapp_now() < end) {
    close_due(w, 1);
    step(w);
  }
  return live(w) || connections(w) ? -1 : 0;
}

static long lower(long a, long b) { return a < b ? a : b; }

/* Under ASan freed memory sits in its quarantine (256 MiB by default) and
 * RSS says nothing about leaks; LeakSanitizer checks them at exit instead. */
#if defined(__SANITIZE_ADDRESS__)
#define MEMORY_JUDGED 0
#else
#define MEMORY_JUDGED 1
#endif

/* The verdict over the quiet points; prints the figures it used. */
static int judge(const options *o, const quiet *q, int nq, const totals *t, int stuck) {
  long rss_growth = 0, heap_growth = 0;
  if (nq >= 3) {
    rss_growth = lower(q[nq - 1].rss, q[nq - 2].rss) - q[1].rss;
    heap_growth = lower(q[nq - 1].heap, q[nq - 2].heap) - q[1].heap;
  }
  printf("soak-result: rounds=%d sessions=%llu completed=%llu cut_short=%llu errors=%llu bad_echo=%llu "
         "dgrams_sent=%llu dgrams_back=%llu rss_round1_kib=%ld rss_last_kib=%ld rss_growth_kib=%ld "
         "heap_round1_kib=%ld heap_growth_kib=%ld slack_kib=%ld\n",
         nq, (unsigned long long)t->sessions, (unsigned long long)t->completed, (unsigned long long)t->cut_short,
         (unsigned long long)t->errors, (unsigned long long)t->bad_echo, (unsigned long long)t->dgrams_sent,
         (unsigned long long)t->dgrams_back, nq > 1 ? q[1].rss : 0, nq ? q[nq - 1].rss : 0, rss_growth,
         nq > 1 ? q[1].heap : 0, heap_growth, o->slack_kib);
  if (!o->check) return 0;
  int ok = 1;
  if (stuck) {
    fprintf(stderr, "soak: FAIL: sessions or connections did not go away after a round\n");
    ok = 0;
  }
  if (nq < 3) {
    fprintf(stderr, "soak: FAIL: %d rounds, at least 3 needed to judge (run longer)\n", nq);
    ok = 0;
  }
  if (!MEMORY_JUDGED) printf("soak: memory not judged in an ASan build (quarantine); leaks are LSan's at exit\n");
  if (MEMORY_JUDGED && (rss_growth > o->slack_kib || heap_growth > o->slack_kib)) {
    fprintf(stderr, "soak: FAIL: memory grew after warm-up: RSS %+ld KiB, heap %+ld KiB (slack %ld)\n", rss_growth,
            heap_growth, o->slack_kib);
    ok = 0;
  }
  if (t->errors || t->bad_echo) {
    fprintf(stderr, "soak: FAIL: %llu session errors, %llu corrupted echoes\n", (unsigned long long)t->errors,
            (unsigned long long)t->bad_echo);
    ok = 0;
  }
  for (int i = 1; i < nq; i++)
    if (q[i].finished == q[i - 1].finished) {
      fprintf(stderr, "soak: FAIL: no session finished in round %d\n", i);
      ok = 0;
    }
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  options o;
  if (parse(argc, argv, &o)) {
    fprintf(stderr,
            "usage: %s [--sessions N] [--seconds S] [--round-seconds S] [--hold-ms MS] [--sample-ms MS] "
            "[--slack-kib K] [--check]\n",
            argv[0]);
    return 2;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  static world w;
  int cap = (int)(o.seconds / o.round_s) + 2, nq = 0, stuck = 0;
  quiet *q = calloc((size_t)cap, sizeof(*q));
  if (!q || world_open(&w, o.sessions, o.hold_s)) {
    fprintf(stderr, "soak: setup failed\n");
    return 1;
  }
  double t0 = testapp_now(), end = t0 + o.seconds;
  printf("soak: %d session slots for %.0f s in rounds of %.1f s\n", o.sessions, o.seconds, o.round_s);
  while (testapp_now() < end && nq < cap) {
    churn(&w, &o, t0, testapp_now() + o.round_s);
    if (quiesce(&w)) {
      stuck = 1;
      break;
    }
    trim();
    q[nq] = (quiet){.rss = rss_kib(), .heap = heap_kib(), .finished = w.t.completed + w.t.cut_short};
    printf("soak: round=%d quiet rss_kib=%ld heap_kib=%ld sessions=%llu\n", nq, q[nq].rss, q[nq].heap,
           (unsigned long long)w.t.sessions);
    nq++;
  }
  int rc = judge(&o, q, nq, &w.t, stuck);
  world_close(&w);
  free(q);
  return rc;
}
