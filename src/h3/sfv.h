/*
 * sfv.h: the part of RFC 9651 Structured Field Values that WebTransport
 * sub-protocol negotiation needs.
 *
 * WT-Available-Protocols is an sf-List whose members must be sf-Strings;
 * WT-Protocol is an sf-Item that must be an sf-String (draft-ietf-webtrans-
 * http3 §3.3). Drafts up to -12 used sf-Tokens instead, so the parsers can
 * optionally accept tokens too. Parameters on members are parsed for
 * well-formedness and ignored.
 *
 * For: parsing and serialising exactly these two shapes, strictly. Not for:
 * general structured fields (dictionaries, inner lists, numbers are parsed
 * only so far as needed to reject them).
 */
#ifndef WT_H3_SFV_H
#define WT_H3_SFV_H

#include <stddef.h>

#include "util/buf.h"

/* Receives one member string (unescaped, NUL-terminated, valid during the
 * call). Returning nonzero stops parsing and is returned by the parser. */
typedef int (*wt_sfv_string_cb)(void *user_data, const char *s, size_t len);

/* Parses an sf-List. Every member must be an sf-String (or an sf-Token when
 * allow_tokens is set); parameters are validated and ignored. Leading and
 * trailing spaces (SP) are allowed, as RFC 9651 §4.2 says for parsing a
 * field value. An empty input is an empty list. Returns 0, WT_ERR_PROTO for
 * malformed input or a member of another type (then `cb` may already have
 * been called for earlier members), WT_ERR_NOMEM, or the callback's
 * nonzero return. */
int wt_sfv_parse_string_list(const char *in, size_t len, int allow_tokens, wt_sfv_string_cb cb, void *user_data);

/* Parses an sf-Item that must be an sf-String (or an sf-Token when
 * allow_tokens is set), parameters ignored. Appends the unescaped value and
 * a NUL to `out` (the NUL is not counted in the appended length). Returns 0,
 * WT_ERR_PROTO or WT_ERR_NOMEM. */
int wt_sfv_parse_string_item(const char *in, size_t len, int allow_tokens, wt_buf *out);

/* Appends `s` serialised as an sf-String ("..." with \" and \\ escaped).
 * Returns 0, WT_ERR_INVALID_ARGUMENT if s contains a byte outside
 * printable ASCII 0x20..0x7e, or WT_ERR_NOMEM. */
int wt_sfv_serialize_string(wt_buf *out, const char *s, size_t len);

/* Appends an sf-List of sf-Strings separated by ", ". Same errors. */
int wt_sfv_serialize_string_list(wt_buf *out, const char *const *s, size_t n);

#endif
