/*
 * toolutil.h: small helpers shared by wt-server and wt-client (argument
 * parsing, logging, a reproducible byte generator, base64).
 *
 * Not part of the library: the tools use only webtransport.h.
 */
#ifndef WT_TOOLUTIL_H
#define WT_TOOLUTIL_H

#include <stddef.h>
#include <stdint.h>

#include "webtransport.h"

/* Log sink printing "[time] level: line" to stderr. */
void tool_log(wt_log_level level, const char *line, void *user_data);

/* Seconds since an arbitrary start, monotonic. */
double tool_now(void);

/* Parses a non-negative integer with an optional k/M/G suffix (powers of
 * 1024). Returns 0 or -1. */
int tool_parse_size(const char *s, uint64_t *out);

/* Parses a congestion controller name (cubic, reno, bbr, bbr2). Returns 0
 * or -1. */
int tool_parse_cc(const char *s, wt_cc_algo *out);

/* Deterministic byte stream (xorshift64*): the receiver regenerates what
 * the sender sent to verify it without keeping a copy. */
typedef struct tool_rng {
  uint64_t s, cur;
  unsigned pos; /* byte of `cur` to hand out next; output is independent of call sizes */
} tool_rng;
void tool_rng_seed(tool_rng *r, uint64_t seed);
void tool_rng_fill(tool_rng *r, uint8_t *out, size_t n);

/* Reads a whole text file (at most 1 MiB) into a NUL-terminated malloc'd
 * string; NULL with errno set on failure. */
char *tool_read_text(const char *path);

/* Standard base64 of n bytes into out (4 * ceil(n / 3) + 1 bytes). */
void tool_base64(const uint8_t *in, size_t n, char *out);

#endif
