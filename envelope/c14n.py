"""Canonical XML 1.0 written from parse events, for digests over documents too large to hold in memory.

Exclusive XML Canonicalization 1.0 (optionally with an InclusiveNamespaces
prefix list) and inclusive Canonical XML 1.0, both without comments, of an
element and everything under it, minus whatever subtrees the caller leaves
out (XML-DSig's enveloped signature). The bytes are those libxml2 writes for
the same tree (``etree.tostring(root, method="c14n", exclusive=...)``): the
tests compare the two on generated documents and on signed messages.

Python's own ``xml.etree.ElementTree.C14NWriterTarget`` is C14N 2.0 and
cannot serve: it works from namespace URIs and picks prefixes itself, so
``<edXML:edXMLEnvelope>`` under a default namespace bound to the same URI
comes out as ``<edXMLEnvelope>``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

from envelope.errors import CanonicalizationError

#: How an InclusiveNamespaces PrefixList names the default namespace.
DEFAULT_PREFIX_TOKEN = "#default"
# libxml2 refuses to canonicalise a document declaring a relative namespace URI
# (one without a scheme); the parser has already refused URIs that do not parse.
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")
_TEXT = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", "\r": "&#xD;"})
_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", '"': "&quot;", "\t": "&#x9;", "\n": "&#xA;", "\r": "&#xD;"}
)


class Name(NamedTuple):
    """An element or attribute name as written: namespace URI and prefix ("" for none), local part."""

    uri: str
    local: str
    prefix: str = ""

    @property
    def qualified(self) -> str:
        """The name as it appears in a tag, e.g. ``edXML:Subject``."""
        return f"{self.prefix}:{self.local}" if self.prefix else self.local


def escape_text(text: str) -> str:
    """Escape character data as canonical XML does (``&``, ``<``, ``>``, carriage return)."""
    # Most text (base64 above all) needs nothing; the membership tests are cheap.
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.translate(_TEXT)
    return text


def escape_attribute(value: str) -> str:
    """Escape an attribute value as canonical XML does (``&``, ``<``, ``"``, tab, newline, carriage return)."""
    return value.translate(_ATTRIBUTE)


class CanonicalWriter:
    """Writes the canonical form of the events it is given, as UTF-8, to ``write`` (e.g. a hash's update)."""

    def __init__(
        self,
        write: Callable[[bytes], object],
        *,
        exclusive: bool = True,
        inclusive_prefixes: Iterable[str] | None = None,
    ) -> None:
        self._write = write
        self._exclusive = exclusive
        # In exclusive mode, prefixes on the list follow the inclusive rule; in
        # inclusive mode every prefix does and the list means nothing. lxml hands
        # libxml2 only list entries that are names it has seen, so "#default" (and
        # "") never reach it and the default namespace stays exclusive: so here.
        listed = {p for p in (inclusive_prefixes or ()) if p and p != DEFAULT_PREFIX_TOKEN}
        self._listed = frozenset(listed) if exclusive else frozenset()
        # Per open element: the namespaces in scope in the source, and those in
        # effect in the output so far. "" is the default namespace; "" as a URI
        # means no default namespace.
        self._scope: list[dict[str, str]] = [{"": ""}]
        self._rendered: list[dict[str, str]] = [{"": ""}]
        self._names: list[str] = []

    def start(self, name: Name, attributes: Sequence[tuple[Name, str]],
              declarations: Sequence[tuple[str, str]]) -> None:
        """Open an element; ``declarations`` are its own ``xmlns`` attributes as (prefix, URI) pairs."""
        parent_scope = self._scope[-1]
        scope = parent_scope
        if declarations:
            scope = dict(parent_scope)
            for prefix, uri in declarations:
                if uri and not _SCHEME.match(uri):
                    raise CanonicalizationError(f"relative namespace URI {uri!r} cannot be canonicalised")
                scope[prefix] = uri
        rendered = self._rendered[-1]
        out: dict[str, str] = {}
        if self._exclusive:
            used = {name.prefix: name.uri}
            for attribute, _ in attributes:
                if attribute.prefix:
                    used[attribute.prefix] = attribute.uri
            for prefix, uri in used.items():
                if prefix == "xml" or prefix in self._listed:
                    continue
                if rendered.get(prefix, "" if prefix == "" else None) != uri:
                    out[prefix] = uri
            inclusive: Iterable[str] = self._listed
        else:
            inclusive = scope.keys()
        for prefix in inclusive:
            # C14N 1.0: a namespace node is rendered unless the parent (always
            # output here) has the same one; xmlns="" only undoes a default.
            if prefix == "xml" or prefix not in scope:
                continue
            if parent_scope.get(prefix, "" if prefix == "" else None) != scope[prefix]:
                out[prefix] = scope[prefix]
        if out and self._exclusive:
            rendered = {**rendered, **{p: u for p, u in out.items() if p not in self._listed}}
        qualified = name.qualified
        parts = ["<", qualified]
        for prefix in sorted(out):
            # libxml2 writes namespace URIs unescaped (an "&" stays "&"); a URI holds
            # no other character that would need escaping.
            parts += [" xmlns:", prefix, '="'] if prefix else [' xmlns="']
            parts += [out[prefix], '"']
        for attribute, value in sorted(attributes, key=lambda pair: (pair[0].uri, pair[0].local)):
            parts += [" ", attribute.qualified, '="', escape_attribute(value), '"']
        parts.append(">")
        self._write("".join(parts).encode())
        self._scope.append(scope)
        self._rendered.append(rendered)
        self._names.append(qualified)

    def end(self) -> None:
        """Close the innermost open element."""
        self._scope.pop()
        self._rendered.pop()
        self._write(f"</{self._names.pop()}>".encode())

    def text(self, data: str) -> None:
        """Character data, in pieces of any size (CDATA already unwrapped, references resolved)."""
        if data:
            self._write(escape_text(data).encode())

    def pi(self, target: str, data: str) -> None:
        """A processing instruction inside the element being written."""
        self._write((f"<?{target} {data}?>" if data else f"<?{target}?>").encode())
