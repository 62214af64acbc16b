/*
 * test_sfv.c: unit tests for src/h3/sfv.c, the RFC 9651 subset behind
 * WT-Available-Protocols and WT-Protocol.
 *
 * For: what the parsers accept (members, parameters of every bare-item type,
 * whitespace), every malformed or wrongly typed input they must refuse, and
 * serialiser round trips. Not for: header-level negotiation (which protocol
 * is chosen), which is the session's business.
 */
#include "h3/sfv.h"

#include <stdlib.h>

#include "test.h"
#include "webtransport.h"

/* ---- helpers ---------------------------------------------------------- */

#define MAX_MEMBERS 8

typedef struct collected {
  char member[MAX_MEMBERS][64];
  int n;
  int stop_at; /* 1-based member index whose callback returns stop_rv */
  int stop_rv;
  int not_terminated; /* a member arrived without its NUL */
} collected;

static int collect_cb(void *user_data, const char *s, size_t len) {
  collected *c = user_data;
  if (s[len] != '\0') c->not_terminated = 1;
  if (c->n < MAX_MEMBERS && len < sizeof(c->member[0])) memcpy(c->member[c->n], s, len + 1);
  c->n++;
  return c->n == c->stop_at ? c->stop_rv : 0;
}

/* Parses a copy of the input in a buffer of exactly its length, so that under
 * ASan a read past `len` (the input is not NUL-terminated) is caught. */
static int parse_list_n(const char *in, size_t len, int allow_tokens, collected *c) {
  char *copy = malloc(len ? len : 1);
  if (!copy) return WT_ERR_NOMEM;
  memcpy(copy, in, len);
  int rv = wt_sfv_parse_string_list(copy, len, allow_tokens, collect_cb, c);
  free(copy);
  return rv;
}

static int parse_item_n(const char *in, size_t len, int allow_tokens, wt_buf *out) {
  char *copy = malloc(len ? len : 1);
  if (!copy) return WT_ERR_NOMEM;
  memcpy(copy, in, len);
  int rv = wt_sfv_parse_string_item(copy, len, allow_tokens, out);
  free(copy);
  return rv;
}

static int parse_list(const char *in, int allow_tokens, collected *c) {
  memset(c, 0, sizeof(*c));
  return parse_list_n(in, strlen(in), allow_tokens, c);
}

/* An input given with its length, so cases may hold NUL bytes. */
typedef struct input {
  const char *s;
  size_t len;
} input;

#define IN(lit)                                                                                                        \
  { lit, sizeof(lit) - 1 }

/* Index of the first case the list parser does not refuse with
 * WT_ERR_PROTO, or -1 when all are refused. */
static int first_list_not_refused(const input *cases, size_t n, int allow_tokens) {
  for (size_t i = 0; i < n; i++) {
    collected c = {0};
    int rv = parse_list_n(cases[i].s, cases[i].len, allow_tokens, &c);
    if (rv != WT_ERR_PROTO) {
      fprintf(stderr, "list case %zu [%.*s] returned %d\n", i, (int)cases[i].len, cases[i].s, rv);
      return (int)i;
    }
  }
  return -1;
}

/* The same for the item parser; also checks a refusal appends nothing. */
static int first_item_not_refused(const input *cases, size_t n, int allow_tokens) {
  for (size_t i = 0; i < n; i++) {
    wt_buf b;
    wt_buf_init(&b);
    int rv = parse_item_n(cases[i].s, cases[i].len, allow_tokens, &b);
    size_t appended = b.len;
    wt_buf_free(&b);
    if (rv != WT_ERR_PROTO || appended != 0) {
      fprintf(stderr, "item case %zu [%.*s] returned %d\n", i, (int)cases[i].len, cases[i].s, rv);
      return (int)i;
    }
  }
  return -1;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- valid lists ------------------------------------------------------ */

static void test_list_one(void) {
  collected c;
  CHECK_EQ(parse_list("\"moq-00\"", 0, &c), 0);
  CHECK_EQ(c.n, 1);
  CHECK(strcmp(c.member[0], "moq-00") == 0);
  CHECK(!c.not_terminated);
}

static void test_list_several(void) {
  collected c;
  CHECK_EQ(parse_list("\"moq-00\", \"foo\",\"bar baz\"", 0, &c), 0);
  CHECK_EQ(c.n, 3);
  CHECK(strcmp(c.member[0], "moq-00") == 0);
  CHECK(strcmp(c.member[1], "foo") == 0);
  CHECK(strcmp(c.member[2], "bar baz") == 0);
  CHECK(!c.not_terminated);
}

static void test_list_empty_field(void) {
  collected c;
  CHECK_EQ(parse_list("", 0, &c), 0);
  CHECK_EQ(c.n, 0);
  CHECK_EQ(parse_list("   ", 0, &c), 0);
  CHECK_EQ(c.n, 0);
  CHECK_EQ(wt_sfv_parse_string_list(NULL, 0, 0, collect_cb, &c), 0);
  CHECK_EQ(c.n, 0);
}

static void test_list_empty_string_member(void) {
  collected c;
  CHECK_EQ(parse_list("\"\", \"a\"", 0, &c), 0);
  CHECK_EQ(c.n, 2);
  CHECK(strcmp(c.member[0], "") == 0);
  CHECK(strcmp(c.member[1], "a") == 0);
}

/* Separators are OWS "," OWS with OWS = SP / HTAB; the whole field may also
 * start and end with SP, and a list's trailing OWS is consumed before the
 * end check, so a trailing HTAB is fine too. */
static void test_list_extra_ows(void) {
  collected c;
  CHECK_EQ(parse_list("  \"a\" \t,\t  \"b\"  ,\"c\"  ", 0, &c), 0);
  CHECK_EQ(c.n, 3);
  CHECK(strcmp(c.member[0], "a") == 0);
  CHECK(strcmp(c.member[1], "b") == 0);
  CHECK(strcmp(c.member[2], "c") == 0);
  CHECK_EQ(parse_list("\"a\"\t", 0, &c), 0);
  CHECK_EQ(c.n, 1);
}

static void test_list_escapes(void) {
  collected c;
  CHECK_EQ(parse_list("\"a\\\"b\\\\c\", \"\\\\\", \"\\\"\"", 0, &c), 0);
  CHECK_EQ(c.n, 3);
  CHECK(strcmp(c.member[0], "a\"b\\c") == 0);
  CHECK(strcmp(c.member[1], "\\") == 0);
  CHECK(strcmp(c.member[2], "\"") == 0);
}

/* Parameters are skipped whatever bare-item type their value has; commas,
 * semicolons and quotes inside parameter strings must not end the member. */
static void test_list_parameters_every_type(void) {
  static const char *const fields[] = {
      "\"a\";int=42",
      "\"a\";neg=-7",
      "\"a\";dec=1.5",
      "\"a\";dec=-123456789012.123",
      "\"a\";str=\"x;y, \\\"z\\\"\"",
      "\"a\";tok=foo/bar:*",
      "\"a\";tok=*",
      "\"a\";bin=:aGVsbG8=:",
      "\"a\";bin=:aGVsbG8:",
      "\"a\";bin=::",
      "\"a\";t",
      "\"a\";t=?1;f=?0",
      "\"a\";date=@1659578233",
      "\"a\";date=@-1",
      "\"a\";ds=%\"f%c3%bc %22q%22\"",
      "\"a\";ds=%\"%f0%9f%98%80\"",
      "\"a\";ds=%\"%e0%a0%80%ed%9f%bf%f4%8f%bf%bf\"", /* edges of each lead's range */
      "\"a\"; sp=1;  more=2",
      "\"a\";*k_.-9=1;k=1;k=2",
  };
  for (size_t i = 0; i < COUNT(fields); i++) {
    collected c;
    int rv = parse_list(fields[i], 0, &c);
    if (rv != 0) fprintf(stderr, "case %zu [%s] returned %d\n", i, fields[i], rv);
    CHECK_EQ(rv, 0);
    CHECK_EQ(c.n, 1);
    CHECK(strcmp(c.member[0], "a") == 0);
  }
}

static void test_list_parameters_between_members(void) {
  collected c;
  CHECK_EQ(parse_list("\"moq-00\";v=1;x=\",\", \"foo\";bar , \"baz\"", 0, &c), 0);
  CHECK_EQ(c.n, 3);
  CHECK(strcmp(c.member[0], "moq-00") == 0);
  CHECK(strcmp(c.member[1], "foo") == 0);
  CHECK(strcmp(c.member[2], "baz") == 0);
}

/* RFC 9651 minimums: 1024 list members, 1024-character strings, 512-character
 * tokens, 64-character keys, 256 parameters. */
static void test_list_rfc_minimum_sizes(void) {
  enum { N = 1024 };
  const char **names = malloc(N * sizeof(*names));
  CHECK(names != NULL);
  for (int i = 0; i < N; i++)
    names[i] = "p";
  wt_buf b;
  wt_buf_init(&b);
  int rv = wt_sfv_serialize_string_list(&b, names, N);
  free(names);
  collected c = {0};
  if (rv == 0) rv = wt_sfv_parse_string_list((const char *)b.data, b.len, 0, collect_cb, &c);
  wt_buf_free(&b);
  CHECK_EQ(rv, 0);
  CHECK_EQ(c.n, N);

  static char big[4096];
  size_t k = 0;
  big[k++] = '"';
  for (int i = 0; i < 1024; i++)
    big[k++] = 'a' + i % 26;
  big[k++] = '"';
  big[k++] = ';';
  for (int i = 0; i < 64; i++)
    big[k++] = 'k';
  for (int i = 0; i < 256; i++)
    k += (size_t)snprintf(big + k, sizeof(big) - k, ";p%d", i);
  big[k++] = ',';
  for (int i = 0; i < 512; i++)
    big[k++] = 'T';
  big[k] = '\0';
  CHECK_EQ(parse_list(big, 1, &c), 0);
  CHECK_EQ(c.n, 2);
}

/* ---- valid items ------------------------------------------------------ */

static void test_item_string(void) {
  wt_buf b;
  wt_buf_init(&b);
  int rv = parse_item_n("\"moq-00\"", 8, 0, &b);
  CHECK_EQ(rv, 0);
  CHECK_EQ(b.len, 6);
  CHECK_MEM(b.data, "moq-00", 7); /* the NUL follows, uncounted */
  wt_buf_free(&b);
}

static void test_item_spaces_parameters_escapes(void) {
  static const struct {
    const char *in, *want;
  } cases[] = {
      {"  \"x\"  ", "x"},           {"\"x\";a=1;b", "x"}, {"\"x\"; a=\"y\";c=:AA==:", "x"},
      {"\"a\\\"b\\\\\"", "a\"b\\"}, {"\"\"", ""},
  };
  for (size_t i = 0; i < COUNT(cases); i++) {
    wt_buf b;
    wt_buf_init(&b);
    int rv = parse_item_n(cases[i].in, strlen(cases[i].in), 0, &b);
    size_t len = b.len;
    int same = rv == 0 && len == strlen(cases[i].want) && memcmp(b.data, cases[i].want, len + 1) == 0;
    wt_buf_free(&b);
    if (!same) fprintf(stderr, "case %zu [%s] returned %d\n", i, cases[i].in, rv);
    CHECK(same);
  }
}

/* The value is appended after what the buffer already holds, and a refusal
 * leaves that content alone. */
static void test_item_appends_and_restores(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "pre:", 4), 0);
  CHECK_EQ(parse_item_n("\"v\"", 3, 0, &b), 0);
  CHECK_EQ(b.len, 5);
  CHECK_MEM(b.data, "pre:v", 6);
  CHECK_EQ(parse_item_n("\"w\" x", 5, 0, &b), WT_ERR_PROTO);
  CHECK_EQ(wt_buf_readable(&b), 5);
  CHECK_MEM(wt_buf_rpos(&b), "pre:v", 5);
  wt_buf_free(&b);
}

/* ---- tokens (drafts <= -12) ------------------------------------------- */

static void test_tokens_only_when_allowed(void) {
  collected c;
  CHECK_EQ(parse_list("moq-00, foo/bar:1, *x", 1, &c), 0);
  CHECK_EQ(c.n, 3);
  CHECK(strcmp(c.member[0], "moq-00") == 0);
  CHECK(strcmp(c.member[1], "foo/bar:1") == 0);
  CHECK(strcmp(c.member[2], "*x") == 0);
  CHECK_EQ(parse_list("moq-00, foo", 0, &c), WT_ERR_PROTO);

  CHECK_EQ(parse_list("\"a\", B;q=1", 1, &c), 0);
  CHECK_EQ(c.n, 2);
  CHECK(strcmp(c.member[1], "B") == 0);

  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(parse_item_n("Moq_00", 6, 1, &b), 0);
  CHECK_EQ(b.len, 6);
  CHECK_MEM(b.data, "Moq_00", 7);
  CHECK_EQ(parse_item_n("moq", 3, 0, &b), WT_ERR_PROTO);
  CHECK_EQ(b.len, 6);
  wt_buf_free(&b);
}

/* ---- rejections ------------------------------------------------------- */

static void test_reject_bad_strings(void) {
  static const input cases[] = {
      IN("\"abc"),                                           /* unterminated */
      IN("\""),                                              /* only the opening quote */
      IN("\"a\\n\""),                                        /* escapes are only \" and \\ */
      IN("\"a\\'\""),  IN("\"a\\"),                          /* backslash at the end of input */
      IN("\"a\\\""),                                         /* escaped closing quote leaves it unterminated */
      IN("\"a\tb\""),                                        /* HTAB is not printable ASCII */
      IN("\"a\x01\""), IN("\"a\x7f\""), IN("\"f\xc3\xbc\""), /* raw UTF-8 */
      IN("\"a\0b\""),                                        /* embedded NUL */
      IN("'a'"),                                             /* single quotes do not delimit */
  };
  CHECK_EQ(first_list_not_refused(cases, COUNT(cases), 1), -1);
  CHECK_EQ(first_item_not_refused(cases, COUNT(cases), 1), -1);
}

static void test_reject_bad_separators(void) {
  static const input cases[] = {
      IN("\"a\","),                          /* trailing comma */
      IN("\"a\", "),                         /* trailing comma, then OWS */
      IN("\"a\",\t"),    IN(",\"a\""),       /* leading comma */
      IN(","),           IN("\"a\",,\"b\""), /* empty member */
      IN("\"a\" \"b\""),                     /* missing comma */
      IN("\"a\"\"b\""),  IN("\"a\" ;q=1"),   /* parameters must follow the item directly */
      IN("\"a\"x"),                          /* garbage after an item */
      IN("\"a\" x"),     IN("\"a\"\0"),      /* embedded NUL after an item */
      IN("\"a\";q=1 2"),
  };
  CHECK_EQ(first_list_not_refused(cases, COUNT(cases), 1), -1);
}

/* Only SP is stripped around the whole field; HTAB is OWS and only counts
 * next to a list comma (and at a list's end, see test_list_extra_ows). */
static void test_reject_bad_field_whitespace(void) {
  static const input list_cases[] = {
      IN("\t\"a\""),
      IN("\r\n\"a\""),
      IN("\x0b\"a\""),
  };
  static const input item_cases[] = {
      IN(""),                                             /* an Item cannot be empty */
      IN("   "),       IN("\t\"a\""),      IN("\"a\"\t"), /* an Item's end is SP only */
      IN("\"a\" \t "), IN("\"a\", \"b\""),                /* a List is not an Item */
      IN("\"a\" x"),                                      /* garbage after the item */
      IN("\"a\"\0"),
  };
  CHECK_EQ(first_list_not_refused(list_cases, COUNT(list_cases), 1), -1);
  CHECK_EQ(first_item_not_refused(item_cases, COUNT(item_cases), 1), -1);
}

/* A member of any type but String (Token when allowed) invalidates the
 * whole field, even when it is well-formed. */
static void test_reject_other_member_types(void) {
  static const input items[] = {
      IN("1"),
      IN("-1"),
      IN("1.5"),
      IN("?1"),
      IN("?0"),
      IN(":aGk=:"),
      IN("@1659578233"),
      IN("%\"a\""),
      IN("(\"a\")"),
      IN("()"),
      IN("(\"a\" \"b\");q=1"),
      IN("=a"),
      IN("<a>"),
  };
  static const input in_lists[] = {IN("\"a\", 1"), IN("\"a\", (\"b\")"), IN("\"a\", ?1")};
  CHECK_EQ(first_list_not_refused(items, COUNT(items), 1), -1);
  CHECK_EQ(first_item_not_refused(items, COUNT(items), 1), -1);
  CHECK_EQ(first_list_not_refused(in_lists, COUNT(in_lists), 1), -1);
}

static void test_reject_tokens_unless_allowed(void) {
  static const input items[] = {IN("foo"), IN("*"), IN("Foo;q=1"), IN("foo/bar")};
  static const input in_lists[] = {IN("\"a\", foo"), IN("foo, \"a\"")};
  CHECK_EQ(first_list_not_refused(items, COUNT(items), 0), -1);
  CHECK_EQ(first_item_not_refused(items, COUNT(items), 0), -1);
  CHECK_EQ(first_list_not_refused(in_lists, COUNT(in_lists), 0), -1);
}

static void test_reject_bad_parameter_syntax(void) {
  static const input cases[] = {
      IN("\"a\";A=1"),                    /* keys are lowercase */
      IN("\"a\";aB=1"),                   /* ... throughout: "B" is then garbage */
      IN("\"a\";=1"),                     /* parameter without key */
      IN("\"a\";"),                       /* ";" with nothing after */
      IN("\"a\"; "),    IN("\"a\";1a=1"), /* a key starts with lcalpha or "*" */
      IN("\"a\";_a=1"), IN("\"a\";a="),   /* "=" needs a value */
      IN("\"a\";a= 1"), IN("\"a\";a =1"), IN("\"a\";a=b=c"), IN("\"a\";a=(1)"), /* parameter values are bare items */
  };
  CHECK_EQ(first_list_not_refused(cases, COUNT(cases), 1), -1);
}

static void test_reject_bad_parameter_values(void) {
  static const input cases[] = {
      IN("\"a\";n=-"), /* sign without digits */
      IN("\"a\";n=--1"),
      IN("\"a\";n=1234567890123456"), /* 16 integer digits */
      IN("\"a\";n=1234567890123.1"),  /* 13 digits before "." */
      IN("\"a\";n=1."),               /* no fraction */
      IN("\"a\";n=1.1234"),           /* 4 fraction digits */
      IN("\"a\";n=1.2.3"),
      IN("\"a\";s=\"abc"), /* unterminated string */
      IN("\"a\";s=\"\\x\""),
      IN("\"a\";b=:aGVsbG8="),   /* unterminated byte sequence */
      IN("\"a\";b=:=aGVsbG8=:"), /* padding first */
      IN("\"a\";b=:a=GVsbG8=:"), /* padding in the middle */
      IN("\"a\";b=:aGVsbG8.:"),  /* not base64 */
      IN("\"a\";b=:aGVs bG8=:"),
      IN("\"a\";b=:_-Ah:"), /* base64url */
      IN("\"a\";b=:a:"),    /* a lone sextet decodes to nothing */
      IN("\"a\";b=:ab=:"),  /* wrong padding */
      IN("\"a\";b=:abcd====:"),
      IN("\"a\";t=?"), /* boolean without value */
      IN("\"a\";t=?2"),
      IN("\"a\";t=?true"),
      IN("\"a\";d=@"),    /* date without number */
      IN("\"a\";d=@1.5"), /* dates are integers */
      IN("\"a\";d=@1000000000000000"),
      IN("\"a\";d=%abc"),              /* display string without quotes */
      IN("\"a\";d=%\"abc"),            /* unterminated */
      IN("\"a\";d=%\"%C3%BC\""),       /* hex must be lowercase */
      IN("\"a\";d=%\"%c3\""),          /* truncated UTF-8 */
      IN("\"a\";d=%\"%c3%28\""),       /* bad continuation byte */
      IN("\"a\";d=%\"%c0%80\""),       /* overlong, 2 bytes */
      IN("\"a\";d=%\"%e0%9f%bf\""),    /* overlong, 3 bytes */
      IN("\"a\";d=%\"%f0%8f%bf%bf\""), /* overlong, 4 bytes */
      IN("\"a\";d=%\"%ed%a0%80\""),    /* surrogate */
      IN("\"a\";d=%\"%f4%90%80%80\""), /* above U+10FFFF */
      IN("\"a\";d=%\"%f5%80%80%80\""), /* no lead byte above f4 */
      IN("\"a\";d=%\"%80\""),          /* continuation without lead */
      IN("\"a\";d=%\"%2\""),           /* one hex digit */
      IN("\"a\";d=%\"%"),              /* input ends after "%" ... */
      IN("\"a\";d=%\"%2"),             /* ... or after one hex digit */
      IN("\"a\";d=%\"\xc3\xbc\""),     /* raw non-ASCII */
      IN("\"a\";d=%\"\t\""),
      IN("\"a\";x=<1>"), /* no bare item starts with "<" */
  };
  CHECK_EQ(first_list_not_refused(cases, COUNT(cases), 1), -1);
}

/* ---- callback --------------------------------------------------------- */

static void test_callback_abort_propagates(void) {
  collected c = {0};
  c.stop_at = 2;
  c.stop_rv = 7;
  const char *in = "\"a\", \"b\", \"c\"";
  CHECK_EQ(parse_list_n(in, strlen(in), 0, &c), 7);
  CHECK_EQ(c.n, 2);

  memset(&c, 0, sizeof(c));
  c.stop_at = 1;
  c.stop_rv = WT_ERR_NOMEM;
  CHECK_EQ(parse_list_n(in, strlen(in), 0, &c), WT_ERR_NOMEM);
  CHECK_EQ(c.n, 1);
}

/* The header allows members before a bad one to have been delivered. */
static void test_callback_before_later_error(void) {
  collected c;
  CHECK_EQ(parse_list("\"a\", 1", 0, &c), WT_ERR_PROTO);
  CHECK_EQ(c.n, 1);
  CHECK(strcmp(c.member[0], "a") == 0);
}

/* ---- serialiser ------------------------------------------------------- */

static void test_serialize_string(void) {
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_sfv_serialize_string(&b, "moq-00", 6), 0);
  CHECK_EQ(b.len, 8);
  CHECK_MEM(b.data, "\"moq-00\"", 8);
  wt_buf_clear(&b);
  CHECK_EQ(wt_sfv_serialize_string(&b, "a\"b\\c", 5), 0);
  CHECK_EQ(b.len, 9);
  CHECK_MEM(b.data, "\"a\\\"b\\\\c\"", 9);
  wt_buf_clear(&b);
  CHECK_EQ(wt_sfv_serialize_string(&b, "", 0), 0);
  CHECK_EQ(b.len, 2);
  CHECK_MEM(b.data, "\"\"", 2);
  wt_buf_free(&b);
}

static void test_serialize_string_round_trip(void) {
  char all[96];
  for (int i = 0; i < 95; i++)
    all[i] = (char)(0x20 + i); /* every printable byte */
  wt_buf ser, back;
  wt_buf_init(&ser);
  wt_buf_init(&back);
  int rv = wt_sfv_serialize_string(&ser, all, 95);
  if (rv == 0) rv = wt_sfv_parse_string_item((const char *)ser.data, ser.len, 0, &back);
  int same = rv == 0 && back.len == 95 && memcmp(back.data, all, 95) == 0;
  wt_buf_free(&ser);
  wt_buf_free(&back);
  CHECK_EQ(rv, 0);
  CHECK(same);
}

static void test_serialize_rejects_non_printable(void) {
  static const input bad[] = {IN("a\nb"), IN("\t"), IN("a\x7f"), IN("\xc3\xbc"), IN("a\0b")};
  wt_buf b;
  wt_buf_init(&b);
  for (size_t i = 0; i < COUNT(bad); i++) {
    int rv = wt_sfv_serialize_string(&b, bad[i].s, bad[i].len);
    if (rv != WT_ERR_INVALID_ARGUMENT) fprintf(stderr, "case %zu returned %d\n", i, rv);
    CHECK_EQ(rv, WT_ERR_INVALID_ARGUMENT);
    CHECK_EQ(b.len, 0);
  }
  wt_buf_free(&b);
}

static void test_serialize_list_round_trip(void) {
  static const char *const names[] = {"moq-00", "a \"quoted\" \\ name", ""};
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_sfv_serialize_string_list(&b, names, 3), 0);
  static const char want[] = "\"moq-00\", \"a \\\"quoted\\\" \\\\ name\", \"\"";
  CHECK_EQ(b.len, sizeof(want) - 1);
  CHECK_MEM(b.data, want, sizeof(want) - 1);
  collected c = {0};
  int rv = wt_sfv_parse_string_list((const char *)b.data, b.len, 0, collect_cb, &c);
  wt_buf_free(&b);
  CHECK_EQ(rv, 0);
  CHECK_EQ(c.n, 3);
  for (int i = 0; i < 3; i++)
    CHECK(strcmp(c.member[i], names[i]) == 0);
}

/* An empty List is sent by omitting the field, so nothing is appended; a
 * bad member leaves the buffer as it was. */
static void test_serialize_list_empty_and_rejected(void) {
  static const char *const bad[] = {"ok", "bad\r\n"};
  wt_buf b;
  wt_buf_init(&b);
  CHECK_EQ(wt_buf_append(&b, "x", 1), 0);
  CHECK_EQ(wt_sfv_serialize_string_list(&b, NULL, 0), 0);
  CHECK_EQ(b.len, 1);
  CHECK_EQ(wt_sfv_serialize_string_list(&b, bad, 2), WT_ERR_INVALID_ARGUMENT);
  CHECK_EQ(wt_buf_readable(&b), 1);
  CHECK_MEM(wt_buf_rpos(&b), "x", 1);
  wt_buf_free(&b);
}

int main(void) {
  RUN(test_list_one);
  RUN(test_list_several);
  RUN(test_list_empty_field);
  RUN(test_list_empty_string_member);
  RUN(test_list_extra_ows);
  RUN(test_list_escapes);
  RUN(test_list_parameters_every_type);
  RUN(test_list_parameters_between_members);
  RUN(test_list_rfc_minimum_sizes);
  RUN(test_item_string);
  RUN(test_item_spaces_parameters_escapes);
  RUN(test_item_appends_and_restores);
  RUN(test_tokens_only_when_allowed);
  RUN(test_reject_bad_strings);
  RUN(test_reject_bad_separators);
  RUN(test_reject_bad_field_whitespace);
  RUN(test_reject_other_member_types);
  RUN(test_reject_tokens_unless_allowed);
  RUN(test_reject_bad_parameter_syntax);
  RUN(test_reject_bad_parameter_values);
  RUN(test_callback_abort_propagates);
  RUN(test_callback_before_later_error);
  RUN(test_serialize_string);
  RUN(test_serialize_string_round_trip);
  RUN(test_serialize_rejects_non_printable);
  RUN(test_serialize_list_round_trip);
  RUN(test_serialize_list_empty_and_rejected);
  return TEST_REPORT();
}
