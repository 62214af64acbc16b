/*
 * errors.c: names of the public WT_ERR_* codes.
 */
#include "webtransport.h"

const char *wt_strerror(int err) {
  switch (err) {
  case 0: return "success";
  case WT_ERR_INVALID_ARGUMENT: return "invalid argument";
  case WT_ERR_NOMEM: return "out of memory";
  case WT_ERR_AGAIN: return "try again later";
  case WT_ERR_STATE: return "invalid state for this operation";
  case WT_ERR_PROTO: return "protocol violation";
  case WT_ERR_TOO_LARGE: return "too large";
  case WT_ERR_IO: return "I/O error";
  case WT_ERR_TLS: return "TLS error";
  case WT_ERR_CLOSED: return "closed";
  case WT_ERR_NOT_FOUND: return "not found";
  case WT_ERR_LIMIT: return "limit reached";
  case WT_ERR_QUIC: return "QUIC error";
  case WT_ERR_TIMEOUT: return "timed out";
  default: return "unknown error";
  }
}
