#!/usr/bin/env python3
"""Generates src/h3/huffman_table.h from RFC 7541 Appendix B.

For: regenerating the Huffman tables from tools/gen/rfc7541_appendix_b.txt
(a verbatim copy of the appendix); runs offline. Not for: anything at build
time (the generated header is committed).

The table is checked before anything is written: each row's bit string, hex
value and length must agree, the code must be prefix-free, complete and
canonical, and it must reproduce two encodings from RFC 7541 Appendix C.4.

Usage: tools/gen/gen_huffman.py [appendix.txt [output.h]]
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_IN = os.path.join(HERE, "rfc7541_appendix_b.txt")
DEFAULT_OUT = os.path.join(HERE, "..", "..", "src", "h3", "huffman_table.h")

# "'a' ( 97)  |00011                                         3  [ 5]"
ROW = re.compile(r"^(?:'.' |    |EOS )\(\s*(\d+)\)\s+\|([01|]+)\s+([0-9a-f]+)\s+\[\s*(\d+)\]\s*$")

NSYM = 257  # 256 octets + EOS
EOS = 256

# Decoder entry flags; HEADER defines the same values for C.
EMIT, ACCEPT, FAIL = 0x01, 0x02, 0x04

# RFC 7541 Appendix C.4.1 and C.4.3: the Huffman-coded literals.
VECTORS = [
    (b"www.example.com", "f1e3c2e5f23a6ba0ab90f4ff"),
    (b"custom-value", "25a849e95bb8e8b4bf"),
]


def parse(path):
    codes = []
    with open(path, encoding="ascii") as f:
        for line in f:
            m = ROW.match(line.rstrip("\n"))
            if not m:
                continue
            sym, bits, hexval, nbits = int(m[1]), m[2].replace("|", ""), int(m[3], 16), int(m[4])
            if sym != len(codes):
                sys.exit(f"row for symbol {sym} out of order")
            if len(bits) != nbits or int(bits, 2) != hexval:
                sys.exit(f"symbol {sym}: bits, hex and length disagree")
            codes.append((hexval, nbits))
    if len(codes) != NSYM:
        sys.exit(f"expected {NSYM} rows, found {len(codes)}")
    return codes


def check_canonical(codes):
    """A complete canonical code is fully determined by its lengths: rebuilding
    it from them catches any mistyped bit that survived the row checks."""
    if sum(1 << (30 - n) for _, n in codes) != 1 << 30:
        sys.exit("code lengths do not form a complete prefix code")
    nxt, prev_len = 0, 0
    for sym in sorted(range(NSYM), key=lambda s: (codes[s][1], s)):
        code, n = codes[sym]
        nxt <<= n - prev_len
        prev_len = n
        if code != nxt:
            sys.exit(f"symbol {sym}: not the canonical code for its length")
        nxt += 1


def encode(codes, data):
    acc, nbits = 0, 0
    for b in data:
        code, n = codes[b]
        acc, nbits = (acc << n) | code, nbits + n
    pad = -nbits % 8
    return ((acc << pad) | ((1 << pad) - 1)).to_bytes((nbits + pad) // 8, "big")


def build_tree(codes):
    """Internal nodes numbered breadth-first (root = 0). children[node][bit] is
    ("node", id) or ("leaf", symbol)."""
    children = [[None, None]]
    for sym, (code, n) in enumerate(codes):
        node = 0
        for i in range(n - 1, -1, -1):
            bit = (code >> i) & 1
            child = children[node][bit]
            if i == 0:
                if child is not None:
                    sys.exit(f"symbol {sym}: code collides with another")
                children[node][bit] = ("leaf", sym)
            elif child is None:
                children.append([None, None])
                children[node][bit] = ("node", len(children) - 1)
                node = len(children) - 1
            elif child[0] == "leaf":
                sys.exit(f"symbol {sym}: a shorter code is its prefix")
            else:
                node = child[1]
    return renumber_bfs(children)


def renumber_bfs(children):
    order, queue = {0: 0}, [0]
    for old in queue:
        for kind, val in children[old]:
            if kind == "node" and val not in order:
                order[val] = len(order)
                queue.append(val)
    out = [None] * len(children)
    for old, new in order.items():
        out[new] = [(k, order[v] if k == "node" else v) for k, v in children[old]]
    return out


def padding_states(children):
    """Nodes where the string may end: the root, and the nodes reached from it
    by 1 to 7 one-bits (padding is a prefix of EOS, shorter than a byte)."""
    ok, node = {0}, 0
    for _ in range(7):
        kind, node = children[node][1]
        assert kind == "node"
        ok.add(node)
    return ok


def nibble_step(children, accepting, state, nibble):
    """Walks four bits from `state`. Returns (next_state, flags, symbol)."""
    flags, sym = 0, 0
    for i in (3, 2, 1, 0):
        kind, val = children[state][(nibble >> i) & 1]
        if kind == "node":
            state = val
            continue
        if val == EOS:
            return 0, FAIL, 0
        if flags:
            sys.exit("two symbols in one nibble: codes shorter than 5 bits?")
        flags, sym, state = EMIT, val, 0
    if state in accepting:
        flags |= ACCEPT
    return state, flags, sym


HEADER = """\
/*
 * huffman_table.h: the HPACK/QPACK Huffman code (RFC 7541 Appendix B) as C
 * tables. GENERATED by tools/gen/gen_huffman.py from
 * tools/gen/rfc7541_appendix_b.txt; do not edit.
 *
 * For: src/h3/huffman.c, the only file that may include it (it defines
 * static arrays). Not for: any other use.
 *
 * huff_codes[sym]: the code of octet sym (EOS is 256), right-aligned, and
 * its length in bits.
 *
 * huff_decode[state][nibble]: a decoder consuming 4 bits at a time. A state
 * is an internal node of the code tree (0 is the root). Every code is at
 * least 5 bits long, so a nibble completes at most one symbol. HUFF_EMIT:
 * the nibble completed symbol `sym`. HUFF_FAIL: it completed EOS, which must
 * not appear in a string (RFC 7541 §5.2). HUFF_ACCEPT: the bits since the
 * last symbol are a valid padding (at most 7 bits, all ones), so the string
 * may end here.
 */
#ifndef WT_H3_HUFFMAN_TABLE_H
#define WT_H3_HUFFMAN_TABLE_H

#include <stdint.h>

typedef struct huff_code {
  uint32_t code;
  uint8_t bits;
} huff_code;

#define HUFF_EMIT 0x01
#define HUFF_ACCEPT 0x02
#define HUFF_FAIL 0x04

typedef struct huff_dec_entry {
  uint8_t state;
  uint8_t flags;
  uint8_t sym;
} huff_dec_entry;
"""


def render(codes, children):
    accepting = padding_states(children)
    out = [HEADER, f"\nstatic const huff_code huff_codes[{NSYM}] = {{\n"]
    for sym, (code, n) in enumerate(codes):
        out.append(f"    {{0x{code:x}, {n}}}, /* {sym} */\n")
    out.append("};\n")
    out.append(f"\nstatic const huff_dec_entry huff_decode[{len(children)}][16] = {{\n")
    for state in range(len(children)):
        out.append(f"    /* {state} */ {{\n")
        cells = [nibble_step(children, accepting, state, nib) for nib in range(16)]
        for row in range(0, 16, 4):
            line = " ".join(f"{{{n}, {f}, {s}}}," for n, f, s in cells[row:row + 4])
            out.append(f"        {line}\n")
        out.append("    },\n")
    out.append("};\n\n#endif\n")
    return "".join(out)


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_IN
    dst = sys.argv[2] if len(sys.argv) > 2 else DEFAULT_OUT
    codes = parse(src)
    check_canonical(codes)
    for text, want in VECTORS:
        if encode(codes, text).hex() != want:
            sys.exit(f"Appendix C.4 vector {text!r} does not encode as the RFC says")
    children = build_tree(codes)
    if len(children) != 256:
        sys.exit(f"expected 256 internal nodes, got {len(children)}")
    with open(dst, "w", encoding="utf-8") as f:
        f.write(render(codes, children))


if __name__ == "__main__":
    main()
