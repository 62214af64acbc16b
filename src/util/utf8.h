/*
 * utf8.h: UTF-8 validation and boundary-safe truncation.
 *
 * For: WT_CLOSE_SESSION reasons, which must be valid UTF-8 of at most 1024
 * bytes and may only be cut at a character boundary (draft §6).
 */
#ifndef WT_UTIL_UTF8_H
#define WT_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Nonzero if p[0..len) is well-formed UTF-8 (RFC 3629: no overlong forms,
 * no surrogates, nothing above U+10FFFF). */
int wt_utf8_valid(const uint8_t *p, size_t len);

/* The largest n <= max such that cutting p[0..len) at n does not split a
 * multi-byte sequence. */
size_t wt_utf8_truncate(const uint8_t *p, size_t len, size_t max);

#endif
