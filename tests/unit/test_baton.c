/*
 * test_baton.c: the Devious Baton rules (tools/baton.c): query parameters
 * and their 400 answers, the message format with any padding fed a byte at
 * a time, malformed messages, where each reply goes, the datagram rule, and
 * when the game is over. The integration test (baton_test.sh) plays whole
 * games between wt-client and wt-server.
 */
#include "baton.h"

#include "test.h"

static void defaults_without_query(void) {
  baton_params p;
  const char *why = NULL;
  CHECK_EQ(baton_params_parse(NULL, &p, &why), 0);
  CHECK_EQ(p.version, 0);
  CHECK_EQ(p.baton, -1);
  CHECK_EQ(p.count, 1);
  CHECK_EQ(baton_params_parse("", &p, &why), 0);
  CHECK_EQ(baton_params_parse("x=1&&other", &p, &why), 0); /* unknown ones are ignored */
  CHECK_EQ(p.count, 1);
}

static void every_parameter_is_read(void) {
  baton_params p;
  const char *why = NULL;
  CHECK_EQ(baton_params_parse("version=0&baton=251&count=256", &p, &why), 0);
  CHECK_EQ(p.baton, 251);
  CHECK_EQ(p.count, 256);
  CHECK_EQ(baton_params_parse("count=1024&baton=1", &p, &why), 0);
  CHECK_EQ(p.count, 1024);
  CHECK_EQ(p.baton, 1);
}

static void bad_parameters_get_400(void) {
  static const char *const bad[] = {"version=1",       "version=",  "version=x", "baton=0",    "baton=256",
                                    "baton=-1",        "baton=1e2", "count=0",   "count=1025", "count=99999999999",
                                    "count=1&count=2", "baton",     "count=+1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    baton_params p;
    const char *why = NULL;
    CHECK_EQ(baton_params_parse(bad[i], &p, &why), 400);
    CHECK(why && *why);
  }
}

static void message_round_trip_byte_by_byte(void) {
  static const uint64_t pads[] = {0, 1, 63, 64, 300, 16383, 16384, 70000};
  static uint8_t msg[80000];
  for (size_t i = 0; i < sizeof(pads) / sizeof(pads[0]); i++) {
    size_t n = baton_encode(0x5a, pads[i], msg, sizeof(msg));
    CHECK(n > pads[i]);
    baton_reader r;
    baton_reader_init(&r);
    for (size_t k = 0; k < n; k++) {
      CHECK_EQ(baton_reader_finish(&r), -1); /* incomplete until the last byte */
      CHECK_EQ(baton_reader_feed(&r, msg + k, 1), 0);
    }
    CHECK_EQ(baton_reader_finish(&r), 0x5a);
    CHECK_EQ(baton_decode(msg, n), 0x5a);
  }
  CHECK_EQ(baton_encode(1, 10, msg, 11), 0); /* does not fit */
  CHECK_EQ(baton_encode(7, 0, msg, 2), 2);
  CHECK_EQ(msg[0], 0);
  CHECK_EQ(msg[1], 7);
}

static void malformed_messages(void) {
  baton_reader r;
  baton_reader_init(&r);
  CHECK(baton_reader_empty(&r));
  CHECK_EQ(baton_reader_finish(&r), -1); /* a bare FIN */
  const uint8_t extra[] = {0, 9, 9};     /* a byte after the baton */
  CHECK_EQ(baton_reader_feed(&r, extra, 3), -1);
  CHECK_EQ(baton_reader_finish(&r), -1);
  const uint8_t short_pad[] = {3, 0, 0}; /* padding of 3, no baton */
  CHECK_EQ(baton_decode(short_pad, 3), -1);
  const uint8_t half_varint[] = {0x40};
  CHECK_EQ(baton_decode(half_varint, 1), -1);
  CHECK_EQ(baton_decode(NULL, 0), -1);
}

static void replies_follow_the_arrival(void) {
  baton_game g;
  baton_game_init(&g, 0, 1);
  baton_step s = baton_game_on_message(&g, BATON_ON_UNI, 10, -1);
  CHECK_EQ(s.error, 0);
  CHECK_EQ(s.reply, BATON_REPLY_NEW_BIDI);
  CHECK_EQ(s.value, 11);
  s = baton_game_on_message(&g, BATON_ON_OWN_BIDI, 12, 12);
  CHECK_EQ(s.reply, BATON_REPLY_NEW_UNI);
  CHECK_EQ(s.value, 13);
  s = baton_game_on_message(&g, BATON_ON_PEER_BIDI, 14, -1);
  CHECK_EQ(s.reply, BATON_REPLY_SAME);
  CHECK_EQ(s.value, 15);
  CHECK(!baton_game_over(&g));
  CHECK_EQ(g.received, 3);
}

static void unexpected_value_is_sus(void) {
  baton_game g;
  baton_game_init(&g, 1, 1);
  baton_step s = baton_game_on_message(&g, BATON_ON_OWN_BIDI, 40, 41);
  CHECK_EQ(s.error, BATON_SUS);
}

static void datagram_rule_differs_by_side(void) {
  baton_game c, sv;
  baton_game_init(&c, 0, 1);
  baton_game_init(&sv, 1, 1);
  CHECK(baton_game_on_message(&c, BATON_ON_UNI, 8, -1).datagram); /* 8 = 1 mod 7 */
  CHECK(!baton_game_on_message(&c, BATON_ON_UNI, 7, -1).datagram);
  CHECK(baton_game_on_message(&sv, BATON_ON_UNI, 7, -1).datagram); /* 7 = 0 mod 7 */
  CHECK(!baton_game_on_message(&sv, BATON_ON_UNI, 8, -1).datagram);
}

/* A baton ends for an endpoint when it receives 0 or sends 0 (after 255);
 * the game is over when every baton ended, counting resets. */
static void game_over_after_every_baton(void) {
  baton_game g;
  baton_game_init(&g, 0, 3);
  baton_step s = baton_game_on_message(&g, BATON_ON_UNI, 0, -1);
  CHECK_EQ(s.reply, BATON_REPLY_NONE);
  CHECK_EQ(g.active, 2);
  s = baton_game_on_message(&g, BATON_ON_PEER_BIDI, 255, -1);
  CHECK_EQ(s.reply, BATON_REPLY_SAME);
  CHECK_EQ(s.value, 0);
  CHECK_EQ(g.active, 1);
  CHECK(!baton_game_over(&g));
  baton_game_on_lost(&g);
  CHECK(baton_game_over(&g));
  CHECK_EQ(g.lost, 1);
  baton_game_on_lost(&g); /* never below zero */
  CHECK_EQ(g.active, 0);
}

/* Two rule sets playing each other through a whole baton from 250: the
 * stream kinds rotate uni -> bidi -> bidi reply -> uni, and both sides
 * agree the game is over. */
static void two_sides_play_to_zero(void) {
  baton_game cl, sv;
  baton_game_init(&cl, 0, 1);
  baton_game_init(&sv, 1, 1);
  int value = 250;
  baton_arrival how = BATON_ON_UNI;
  baton_game *to = &cl, *from = &sv;
  int expected = -1, steps = 0;
  for (;;) {
    baton_step s = baton_game_on_message(to, how, value, expected);
    CHECK_EQ(s.error, 0);
    steps++;
    if (s.reply == BATON_REPLY_NONE) break;
    value = s.value;
    baton_game *tmp = to;
    to = from;
    from = tmp;
    expected = -1;
    if (s.reply == BATON_REPLY_NEW_BIDI)
      how = BATON_ON_PEER_BIDI;
    else if (s.reply == BATON_REPLY_SAME)
      how = BATON_ON_OWN_BIDI, expected = value;
    else
      how = BATON_ON_UNI;
  }
  CHECK_EQ(steps, 7); /* 250..255, then 0 */
  CHECK(baton_game_over(&cl));
  CHECK(baton_game_over(&sv));
}

int main(void) {
  RUN(defaults_without_query);
  RUN(every_parameter_is_read);
  RUN(bad_parameters_get_400);
  RUN(message_round_trip_byte_by_byte);
  RUN(malformed_messages);
  RUN(replies_follow_the_arrival);
  RUN(unexpected_value_is_sus);
  RUN(datagram_rule_differs_by_side);
  RUN(game_over_after_every_baton);
  RUN(two_sides_play_to_zero);
  return TEST_REPORT();
}
