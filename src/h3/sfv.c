/*
 * sfv.c: RFC 9651 Structured Field Values, as far as WT-Available-Protocols
 * (an sf-List of sf-Strings) and WT-Protocol (an sf-String Item) need them
 * (see sfv.h).
 *
 * For: strict parsing of those two shapes and serialising sf-Strings. The
 * parse functions follow the RFC 9651 §4.2 algorithms of the same names step
 * by step, so what they accept is what the RFC accepts. Not for: a general
 * structured-field parser. Values of other types (numbers, byte sequences,
 * dates, ...) are only checked for well-formedness where they may appear as
 * parameter values, and never decoded.
 *
 * Bounds: a cursor never reads past the input length (the input is not
 * NUL-terminated), nothing recurses (a parameter value is a bare item, which
 * cannot nest, and an inner list is refused at its "("), and the only
 * allocation is one member's unescaped copy, at most the input length plus a
 * NUL.
 */
#include "h3/sfv.h"

#include <string.h>

#include "webtransport.h"

typedef struct sfv_cur {
  const unsigned char *s;
  size_t i; /* next unread byte */
  size_t n;
} sfv_cur;

/* The next byte, or -1 at the end of the input. */
static int peek(const sfv_cur *c) { return c->i < c->n ? c->s[c->i] : -1; }

static int at_end(const sfv_cur *c) { return c->i == c->n; }

static int eat(sfv_cur *c, int ch) {
  if (peek(c) != ch) return 0;
  c->i++;
  return 1;
}

static void skip_sp(sfv_cur *c) {
  while (peek(c) == ' ')
    c->i++;
}

/* OWS (RFC 9110 §5.6.3) allows HTAB too; only list separators use it. */
static void skip_ows(sfv_cur *c) {
  while (peek(c) == ' ' || peek(c) == '\t')
    c->i++;
}

static int is_digit(int ch) { return ch >= '0' && ch <= '9'; }
static int is_lcalpha(int ch) { return ch >= 'a' && ch <= 'z'; }
static int is_alpha(int ch) { return is_lcalpha(ch) || (ch >= 'A' && ch <= 'Z'); }
static int is_printable(int ch) { return ch >= 0x20 && ch <= 0x7e; }

/* tchar (RFC 9110 §5.6.2). */
static int is_tchar(int ch) { return is_alpha(ch) || is_digit(ch) || (ch > 0 && strchr("!#$%&'*+-.^_`|~", ch)); }

static int is_token_start(int ch) { return is_alpha(ch) || ch == '*'; }
static int is_token_char(int ch) { return is_tchar(ch) || ch == ':' || ch == '/'; }

static int is_key_char(int ch) {
  return is_lcalpha(ch) || is_digit(ch) || ch == '_' || ch == '-' || ch == '.' || ch == '*';
}

static int is_base64_char(int ch) { return is_alpha(ch) || is_digit(ch) || ch == '+' || ch == '/'; }

/* Lowercase only: RFC 9651 §4.2.10 rejects "%C3" in a Display String. */
static int lower_hex_value(int ch) {
  if (is_digit(ch)) return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  return -1;
}

/* §4.2.3.3 Parsing a Key. Keys are only validated: parameters are ignored. */
static int parse_key(sfv_cur *c) {
  if (!is_lcalpha(peek(c)) && peek(c) != '*') return WT_ERR_PROTO;
  do
    c->i++;
  while (is_key_char(peek(c)));
  return 0;
}

/* §4.2.4 Parsing an Integer or Decimal, validating only. A Date must be an
 * Integer, so *is_decimal reports which one was found. */
static int parse_number(sfv_cur *c, int *is_decimal) {
  size_t nint = 0, nfrac = 0;
  int decimal = 0;
  eat(c, '-');
  if (!is_digit(peek(c))) return WT_ERR_PROTO;
  for (;;) {
    int ch = peek(c);
    if (is_digit(ch)) {
      if (decimal)
        nfrac++;
      else
        nint++;
    } else if (ch == '.' && !decimal) {
      if (nint > 12) return WT_ERR_PROTO;
      decimal = 1;
    } else {
      break;
    }
    c->i++;
    /* Checked per digit, as the RFC does, so a long run fails early. */
    if (decimal ? nfrac > 3 : nint > 15) return WT_ERR_PROTO;
  }
  if (decimal && nfrac == 0) return WT_ERR_PROTO;
  *is_decimal = decimal;
  return 0;
}

/* §4.2.5 Parsing a String; the caller has seen the opening DQUOTE. Writes
 * the unescaped value to dst (which has room for the rest of the input) or,
 * with dst NULL, only validates it. */
static int parse_string(sfv_cur *c, char *dst, size_t *out_len) {
  size_t k = 0;
  c->i++;
  while (!at_end(c)) {
    int ch = c->s[c->i++];
    if (ch == '\\') {
      ch = peek(c);
      if (ch != '"' && ch != '\\') return WT_ERR_PROTO;
      c->i++;
    } else if (ch == '"') {
      *out_len = k;
      return 0;
    } else if (!is_printable(ch)) {
      return WT_ERR_PROTO;
    }
    if (dst) dst[k] = (char)ch;
    k++;
  }
  return WT_ERR_PROTO;
}

/* §4.2.6 Parsing a Token; the caller has checked the first character. Copies
 * it to dst unless dst is NULL; returns its length. */
static size_t parse_token(sfv_cur *c, char *dst) {
  size_t start = c->i;
  do
    c->i++;
  while (is_token_char(peek(c)));
  if (dst) memcpy(dst, c->s + start, c->i - start);
  return c->i - start;
}

/* §4.2.7 Parsing a Byte Sequence, validating only. The RFC asks parsers not
 * to insist on "=" padding or zero pad bits, but padding that is present
 * must complete the last quantum, and a lone trailing sextet cannot decode
 * to a byte at all. */
static int parse_byte_sequence(sfv_cur *c) {
  size_t data = 0, pad = 0;
  c->i++;
  const unsigned char *close = memchr(c->s + c->i, ':', c->n - c->i);
  if (!close) return WT_ERR_PROTO;
  for (const unsigned char *q = c->s + c->i; q < close; q++) {
    if (*q == '=')
      pad++;
    else if (pad || !is_base64_char(*q))
      return WT_ERR_PROTO;
    else
      data++;
  }
  c->i = (size_t)(close - c->s) + 1;
  if (data % 4 == 1 || pad > 2 || (pad && (data + pad) % 4 != 0)) return WT_ERR_PROTO;
  return 0;
}

/* §4.2.8 Parsing a Boolean. */
static int parse_boolean(sfv_cur *c) {
  c->i++;
  return eat(c, '0') || eat(c, '1') ? 0 : WT_ERR_PROTO;
}

/* §4.2.9 Parsing a Date. */
static int parse_date(sfv_cur *c) {
  int decimal;
  c->i++;
  int rv = parse_number(c, &decimal);
  if (rv) return rv;
  return decimal ? WT_ERR_PROTO : 0;
}

/* Incremental UTF-8 check (RFC 3629 §4). util/utf8.h wants the decoded
 * bytes in memory; a Display String parameter is only validated, so its
 * bytes are checked as they are decoded. `need` continuation bytes are
 * still due and the next must lie in [lo, hi], which is what excludes
 * overlong forms, surrogates and code points above U+10FFFF. */
typedef struct utf8_check {
  int need;
  int lo, hi;
} utf8_check;

static int utf8_lead(utf8_check *u, int b) {
  if (b < 0x80) return 1;
  if (b >= 0xc2 && b <= 0xdf)
    u->need = 1;
  else if (b >= 0xe0 && b <= 0xef)
    u->need = 2;
  else if (b >= 0xf0 && b <= 0xf4)
    u->need = 3;
  else
    return 0;
  if (b == 0xe0) u->lo = 0xa0;
  if (b == 0xed) u->hi = 0x9f;
  if (b == 0xf0) u->lo = 0x90;
  if (b == 0xf4) u->hi = 0x8f;
  return 1;
}

static int utf8_feed(utf8_check *u, int b) {
  if (u->need == 0) return utf8_lead(u, b);
  if (b < u->lo || b > u->hi) return 0;
  u->need--;
  u->lo = 0x80;
  u->hi = 0xbf;
  return 1;
}

/* The byte a Display String character stands for: itself, or the octet a
 * "%" and two lowercase hex digits encode. -1 if malformed. */
static int display_byte(sfv_cur *c, int ch) {
  if (ch != '%') return ch;
  if (c->n - c->i < 2) return -1;
  int hi = lower_hex_value(c->s[c->i]), lo = lower_hex_value(c->s[c->i + 1]);
  c->i += 2;
  return hi < 0 || lo < 0 ? -1 : (hi << 4) | lo;
}

/* §4.2.10 Parsing a Display String, validating only. */
static int parse_display_string(sfv_cur *c) {
  utf8_check u = {0, 0x80, 0xbf};
  c->i++;
  if (!eat(c, '"')) return WT_ERR_PROTO;
  while (!at_end(c)) {
    int ch = c->s[c->i++];
    if (!is_printable(ch)) return WT_ERR_PROTO;
    if (ch == '"') return u.need == 0 ? 0 : WT_ERR_PROTO;
    int b = display_byte(c, ch);
    if (b < 0 || !utf8_feed(&u, b)) return WT_ERR_PROTO;
  }
  return WT_ERR_PROTO;
}

/* §4.2.3.1 Parsing a Bare Item, validating only: parameter values. */
static int skip_bare_item(sfv_cur *c) {
  int ch = peek(c), decimal;
  size_t len;
  if (ch == '-' || is_digit(ch)) return parse_number(c, &decimal);
  if (ch == '"') return parse_string(c, NULL, &len);
  if (is_token_start(ch)) {
    parse_token(c, NULL);
    return 0;
  }
  if (ch == ':') return parse_byte_sequence(c);
  if (ch == '?') return parse_boolean(c);
  if (ch == '@') return parse_date(c);
  if (ch == '%') return parse_display_string(c);
  return WT_ERR_PROTO;
}

/* §4.2.3.2 Parsing Parameters, validating only: sfv.h ignores them. */
static int skip_parameters(sfv_cur *c) {
  while (eat(c, ';')) {
    skip_sp(c);
    int rv = parse_key(c);
    if (rv) return rv;
    if (eat(c, '=') && (rv = skip_bare_item(c))) return rv;
  }
  return 0;
}

/* §4.2.3 Parsing an Item, where the bare item must be a String (or a Token
 * when allowed); anything else, an inner list's "(" included, is refused at
 * its first character. Writes the value and a NUL at out->len and counts
 * only the value in out->len. */
static int parse_string_item(sfv_cur *c, int allow_tokens, wt_buf *out) {
  int ch = peek(c), rv;
  size_t len;
  if (ch != '"' && !(allow_tokens && is_token_start(ch))) return WT_ERR_PROTO;
  /* The value is never longer than the rest of the input, so one reservation
   * covers it; a list's scratch buffer is reused and so allocated once. */
  if ((rv = wt_buf_reserve(out, c->n - c->i + 1))) return rv;
  char *dst = (char *)out->data + out->len;
  if (ch == '"') {
    if ((rv = parse_string(c, dst, &len))) return rv;
  } else {
    len = parse_token(c, dst);
  }
  dst[len] = '\0';
  out->len += len;
  return skip_parameters(c);
}

/* §4.2.1 steps 2.2-2.6: after a member comes the end, or OWS "," OWS and
 * another member. */
static int parse_list_separator(sfv_cur *c) {
  skip_ows(c);
  if (at_end(c)) return 0;
  if (!eat(c, ',')) return WT_ERR_PROTO;
  skip_ows(c);
  return at_end(c) ? WT_ERR_PROTO : 0; /* trailing comma */
}

/* Drops whatever was appended after the first `readable` bytes, so a failed
 * call leaves the caller's buffer as it was. Measured from off, because a
 * reservation may have compacted the buffer in between. */
static void buf_truncate(wt_buf *b, size_t readable) { b->len = b->off + readable; }

int wt_sfv_parse_string_list(const char *in, size_t len, int allow_tokens, wt_sfv_string_cb cb, void *user_data) {
  sfv_cur c = {(const unsigned char *)in, 0, len};
  wt_buf member;
  int rv = 0;
  wt_buf_init(&member);
  skip_sp(&c); /* §4.2 step 1; the list's own OWS handling covers the end */
  while (!at_end(&c) && rv == 0) {
    wt_buf_clear(&member);
    rv = parse_string_item(&c, allow_tokens, &member);
    if (rv == 0) rv = cb(user_data, (const char *)member.data, member.len);
    if (rv == 0) rv = parse_list_separator(&c);
  }
  wt_buf_free(&member);
  return rv;
}

int wt_sfv_parse_string_item(const char *in, size_t len, int allow_tokens, wt_buf *out) {
  sfv_cur c = {(const unsigned char *)in, 0, len};
  size_t keep = wt_buf_readable(out);
  skip_sp(&c);
  int rv = parse_string_item(&c, allow_tokens, out);
  if (rv == 0) {
    skip_sp(&c);
    if (!at_end(&c)) rv = WT_ERR_PROTO;
  }
  if (rv) buf_truncate(out, keep);
  return rv;
}

int wt_sfv_serialize_string(wt_buf *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s;
  size_t need = len + 2;
  /* Check everything before writing anything, so a refusal appends nothing. */
  for (size_t i = 0; i < len; i++) {
    if (!is_printable(p[i])) return WT_ERR_INVALID_ARGUMENT;
    if (p[i] == '"' || p[i] == '\\') need++;
  }
  int rv = wt_buf_reserve(out, need);
  if (rv) return rv;
  uint8_t *w = out->data + out->len;
  *w++ = '"';
  for (size_t i = 0; i < len; i++) {
    if (p[i] == '"' || p[i] == '\\') *w++ = '\\';
    *w++ = p[i];
  }
  *w = '"';
  out->len += need;
  return 0;
}

int wt_sfv_serialize_string_list(wt_buf *out, const char *const *s, size_t n) {
  size_t keep = wt_buf_readable(out);
  for (size_t i = 0; i < n; i++) {
    int rv = i ? wt_buf_append(out, ", ", 2) : 0;
    if (rv == 0) rv = wt_sfv_serialize_string(out, s[i], strlen(s[i]));
    if (rv) {
      buf_truncate(out, keep);
      return rv;
    }
  }
  return 0;
}
