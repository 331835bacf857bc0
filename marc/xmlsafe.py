"""Hardened parsing of XML from outside: MARCXML uploads and harvested OAI-PMH feeds.

One set of lxml parser settings and one DOCTYPE check for every parser of outside XML.
Entities are never expanded, no DTD is loaded and nothing is fetched from the network
(no XXE); ``huge_tree`` stays off, which keeps libxml2's caps on text node size and
nesting depth (a bound on quadratic blow-ups). A DOCTYPE is refused before libxml2 sees the
document: neither MARCXML nor OAI-PMH needs one, and even with the settings above libxml2
reads the files that parameter entities of an internal subset name.
"""

from __future__ import annotations

import re

from lxml import etree

__all__ = ["FRAGMENT_PARSER", "HARDENED", "declares_doctype"]

#: lxml parser options for outside XML (pass to ``etree.XMLParser`` or ``etree.iterparse``).
HARDENED: dict[str, bool] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": False,
}

#: Parses one record element cut out of outside XML: a MARCXML record as written (strictly:
#: it repairs nothing, so a broken record fails; no DOCTYPE can reach it, as a piece starts at
#: the record's start tag), or a ``<record>`` element of an OAI page serialised by lxml.
#: lxml serialises a parser's use by threads.
FRAGMENT_PARSER = etree.XMLParser(**HARDENED, remove_comments=True, remove_pis=True)

_PROLOG_ITEM = re.compile(rb"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)


def declares_doctype(head: bytes) -> bool:
    """True when the prolog at the start of ``head`` (the document's first bytes) declares
    a DOCTYPE: after an optional BOM, the XML declaration, processing instructions and
    comments, the next thing is ``<!DOCTYPE``."""
    pos = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    while match := _PROLOG_ITEM.match(head, pos):
        if match.end() == pos:
            break
        pos = match.end()
    return head[pos:].lstrip()[:9].upper() == b"<!DOCTYPE"
