"""Top-level domains for URL detection, taken from the Public Suffix List's ICANN section.

twitter-text recognises a URL only when its host ends in a delegated TLD (IANA root zone). The ICANN
section of the Public Suffix List (shipped and kept current by the `publicsuffixlist` package) lists every
delegated TLD, so the set of last labels of its rules is the same list without us keeping a copy.
"""

from __future__ import annotations

import functools

import publicsuffixlist

_BEGIN = "// ===BEGIN ICANN DOMAINS==="
_END = "// ===END ICANN DOMAINS==="


@functools.cache
def icann_tlds() -> frozenset[str]:
    """Every ICANN top-level domain, lower-case, in Unicode form (IDN TLDs included)."""
    tlds: set[str] = set()
    inside = False
    with open(publicsuffixlist.PSLFILE, encoding="utf-8") as handle:
        for raw in handle:
            line = raw.strip()
            if line == _BEGIN:
                inside = True
            elif line == _END:
                break
            elif inside and line and not line.startswith("//"):
                rule = line.split()[0].lstrip("!").lower()
                tlds.add(rule.rsplit(".", 1)[-1])
    tlds.discard("*")
    return frozenset(tlds)
