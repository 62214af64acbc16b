#!/usr/bin/env python3
"""Prints the QPACK static table (RFC 9204 Appendix A) as C initializers.
Reads the table rows from rfc9204_appendix_a.md (an excerpt of the RFC's
markdown source, one row per line) and checks them against the wrapped cells
of the RFC-editor text rendering, rfc9204_appendix_a.txt (whitespace-insensitive, since wrapping eats spaces)."""
import re, sys
import os
here = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
md = open(f"{here}/rfc9204_appendix_a.md").read()
md = md[md.index("\n# Static Table"):md.index("{: title=\"Static Table\"}")]
rows = re.findall(r"^\| (\d+) +\| (\S+) +\| (.*?) *\|$", md, re.M)
entries = []
for idx, name, value in rows:
    assert int(idx) == len(entries), idx
    entries.append((name, re.sub(r'\\(.)', r'\1', value)))
assert len(entries) == 99
# text rendering: gather cells across continuation lines
txt = open(f"{here}/rfc9204_appendix_a.txt").read()
start = txt.index("Appendix A.  Static Table\n\n")
end = txt.index("Table 4: Static Table", start)
cells, cur = [], None
for line in txt[start:end].splitlines():
    m = re.match(r"^   \| (\d*) +\| (.*?) *\| (.*?) *\|$", line)
    if not m:
        continue
    if m[1] == "Index":
        continue
    if m[1]:
        cur = [int(m[1]), m[2], m[3]]
        cells.append(cur)
    else:
        cur[1] += m[2]; cur[2] += m[3]
assert len(cells) == 99
for (i, n, v), (name, value) in zip(cells, entries):
    strip = lambda s: s.replace(" ", "")
    assert strip(n) == strip(name) and strip(v) == strip(value), (i, n, v, name, value)
for i, (name, value) in enumerate(entries):
    assert '"' not in value and "\\" not in value
    print(f'    E("{name}", "{value}"), /* {i} */')
