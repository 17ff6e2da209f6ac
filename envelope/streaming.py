"""Reading an edXML message too large to hold in memory: a streamed pass over a file.

One pass with expat, fed the file a megabyte at a time:

- refuses what envelope.xml refuses: DTDs and entity declarations (so no
  entity and no network access), malformed XML, nesting deeper than MAX_DEPTH;
- keeps everything but the attachments' base64 text as a small tree for
  envelope.parser (the same tree lxml would build, comments and processing
  instructions included, minus that text);
- measures each attachment (decoded size and SHA-256) while decoding its
  base64 text piece by piece, keeping none of it;
- optionally hands the whole message, minus the first element with a given tag
  (an enveloped XML-DSig signature), to a canonical XML writer (envelope.c14n)
  that streams it into a digest.

expat rather than lxml: lxml reports element names by namespace URI only, and
canonical XML needs the prefixes as written (edXML binds the same URI to the
default namespace and to ``edXML:``); it also hands over a text node whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from xml.parsers import expat

from lxml import etree

from envelope.attachments import Base64Decoder
from envelope.c14n import Name, escape_attribute, escape_text
from envelope.errors import CanonicalizationError, EnvelopeTooLarge, InvalidEnvelope, MalformedXml
from envelope.limits import MAX_NON_ATTACHMENT_CHARS
from envelope.namespaces import q
from envelope.xml import MAX_DEPTH, safe_parser

#: Bytes read from the file and handed to expat per step.
READ_CHUNK = 1024 * 1024
# Character data is delivered in pieces of up to this many characters.
_TEXT_BUFFER = 256 * 1024
# The small tree is fed to lxml as it is written, in pieces of about this many characters.
_TREE_FEED = 64 * 1024
# Joins namespace URI, local name and prefix in expat's names; it is not an XML character.
_SEP = "\x01"
# Where base64 text is measured instead of kept: edXML/AttachmentEncoded/Attachment/ContentTransferEncoded.
_BASE64_PATH = (q("edXML"), q("AttachmentEncoded"), q("Attachment"), q("ContentTransferEncoded"))


class CanonicalSink(Protocol):
    """What receives the events of the canonical form (envelope.c14n.CanonicalWriter)."""

    def start(self, name: Name, attributes: list[tuple[Name, str]], declarations: list[tuple[str, str]]) -> None:
        """Open an element."""

    def end(self) -> None:
        """Close the innermost element."""

    def text(self, data: str) -> None:
        """Character data."""

    def pi(self, target: str, data: str) -> None:
        """A processing instruction."""


@dataclass(frozen=True)
class MeasuredBase64:
    """An attachment's base64 text as measured on the way: decoded size and SHA-256, or why it is not base64."""

    size: int
    sha256: str
    error: str | None = None


@dataclass(frozen=True)
class StreamedMessage:
    """The outcome of a streamed pass."""

    #: The message without its attachments' base64 text, for envelope.parser.
    root: etree._Element
    #: Each attachment's base64 text, measured, by the field path envelope.parser gives
    #: its ContentTransferEncoded (``AttachmentEncoded/Attachment[1]/ContentTransferEncoded``).
    base64: Mapping[str, MeasuredBase64]
    #: Why the canonical writer gave up (the rest of the pass went on without it), if it did.
    canonical_error: str | None = None


class _Stop(Exception):
    """Ends a pass early: what was looked for has been read."""


def _name(raw: str) -> Name:
    parts = raw.split(_SEP)
    if len(parts) == 1:
        return Name("", raw)
    if len(parts) == 2:
        return Name(parts[0], parts[1])
    return Name(parts[0], parts[1], parts[2])


def _clark(name: Name) -> str:
    return f"{{{name.uri}}}{name.local}" if name.uri else name.local


def _refuse_dtd(*_: Any) -> None:
    raise MalformedXml("DTDs and entity declarations are not allowed")


class _Pass:
    """The expat handlers of one pass over a file."""

    def __init__(
        self,
        *,
        keep: str | None,
        canonical: CanonicalSink | None,
        omit: str | None,
        measure: bool,
        max_kept: int = MAX_NON_ATTACHMENT_CHARS,
    ) -> None:
        # keep: None keeps the whole message; a tag keeps only the first such element and stops there.
        self.keep = keep
        self.canonical = canonical
        self.omit = omit
        self.measure = measure
        self.canonical_error: str | None = None
        self.base64: dict[str, MeasuredBase64] = {}
        # What is kept is written back as XML and parsed by lxml as it goes, so the
        # tree is exactly lxml's and no copy of the kept text piles up.
        self._tree = safe_parser()
        self._pieces: list[str] = []
        self._pending = 0
        # Everything but the attachments' base64 is kept: bounded, so a huge Subject or comment
        # cannot fill memory the way the streamed path exists to avoid.
        self._kept_total = 0
        self._max_kept = max_kept
        self._fed = False
        self._tags: list[str] = []
        self._names: list[str] = []
        self._scopes: list[dict[str, str]] = [{}]
        self._declarations: list[tuple[str, str]] = []
        self._keeping = keep is None
        self._kept_at = 0
        self._omitted_at = 0
        self._omitted_once = False
        self._attachments = 0
        self._base64_at = 0
        self._base64_key = ""
        self._decoder: Base64Decoder | None = None
        self._hash = hashlib.sha256()
        self._size = 0
        self._base64_error: str | None = None

    # --- wiring -----------------------------------------------------------------------------------

    def parser(self) -> expat.XMLParserType:
        """A fresh expat parser wired to this pass, refusing DTDs."""
        p = expat.ParserCreate(namespace_separator=_SEP)
        p.namespace_prefixes = True
        p.ordered_attributes = True
        p.buffer_text = True
        p.buffer_size = _TEXT_BUFFER
        # Never read an external DTD or parameter entity; refuse any DTD outright.
        p.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        p.StartDoctypeDeclHandler = _refuse_dtd
        p.EntityDeclHandler = _refuse_dtd
        # typeshed wants a handler returning int; this one never returns (it raises).
        p.ExternalEntityRefHandler = _refuse_dtd  # type: ignore[assignment]
        p.StartNamespaceDeclHandler = self.start_namespace
        p.StartElementHandler = self.start
        p.EndElementHandler = self.end
        p.CharacterDataHandler = self.data
        p.ProcessingInstructionHandler = self.pi
        p.CommentHandler = self.comment
        return p

    def run(self, path: Path, max_size: int) -> None:
        """Feed the file to expat a chunk at a time, to its end or until what was looked for is read."""
        size = path.stat().st_size
        if size > max_size:
            raise EnvelopeTooLarge(f"message is {size} bytes, limit is {max_size}")
        p = self.parser()
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(READ_CHUNK):
                    p.Parse(chunk, False)
                p.Parse(b"", True)
        except (expat.ExpatError, etree.XMLSyntaxError) as exc:
            # libxml2 is stricter than expat in places (namespace URIs must parse, for one).
            raise MalformedXml(f"not well-formed XML: {exc}") from None
        except _Stop:
            return

    def tree(self) -> etree._Element | None:
        """The kept element (or None if nothing was kept), once the pass is over."""
        self._flush()
        if not self._fed:
            return None
        try:
            root: etree._Element = self._tree.close()
        except etree.XMLSyntaxError as exc:
            raise MalformedXml(f"not well-formed XML: {exc}") from None
        return root

    def _keep(self, text: str) -> None:
        self._kept_total += len(text)
        if self._kept_total > self._max_kept:
            raise EnvelopeTooLarge(f"the message without its attachments' base64 text is over {self._max_kept} "
                                   "characters")
        self._pieces.append(text)
        self._pending += len(text)
        if self._pending >= _TREE_FEED:
            self._flush()

    def _flush(self) -> None:
        if self._pieces:
            self._tree.feed("".join(self._pieces).encode())
            self._pieces, self._pending, self._fed = [], 0, True

    # --- canonical form ---------------------------------------------------------------------------

    def _to_canonical(self) -> CanonicalSink | None:
        return self.canonical if self.canonical is not None and not self._omitted_at else None

    def _canonical_failed(self, exc: CanonicalizationError) -> None:
        # The pass goes on: edXML and signature errors found later must come first, as in memory.
        self.canonical_error = str(exc)
        self.canonical = None

    # --- handlers ---------------------------------------------------------------------------------

    def start_namespace(self, prefix: str | None, uri: str | None) -> None:
        self._declarations.append((prefix or "", uri or ""))

    def start(self, raw: str, flat: list[str]) -> None:
        depth = len(self._tags) + 1
        if depth > MAX_DEPTH:
            raise MalformedXml(f"elements nested deeper than {MAX_DEPTH}")
        name = _name(raw)
        tag = _clark(name)
        attributes = [(_name(flat[i]), flat[i + 1]) for i in range(0, len(flat), 2)]
        declarations, self._declarations = self._declarations, []
        scope = self._scopes[-1]
        if declarations:
            scope = {**scope, **dict(declarations)}
        if not self._keeping and tag == self.keep:
            self._keeping, self._kept_at = True, depth
            # Wrapped in an element declaring what is in scope here, so that it parses alone.
            outer = "".join(
                f' xmlns:{p}="{escape_attribute(u)}"' if p else f' xmlns="{escape_attribute(u)}"'
                for p, u in self._scopes[-1].items()
            )
            self._keep(f"<w{outer}>")
        self._tags.append(tag)
        self._names.append(name.qualified)
        self._scopes.append(scope)
        if self._keeping:
            parts = ["<", name.qualified]
            for prefix, uri in declarations:
                parts += [" xmlns:", prefix] if prefix else [" xmlns"]
                parts += ['="', escape_attribute(uri), '"']
            for attribute, value in attributes:
                parts += [" ", attribute.qualified, '="', escape_attribute(value), '"']
            parts.append(">")
            self._keep("".join(parts))
        if self.canonical is not None and not self._omitted_at:
            if tag == self.omit and not self._omitted_once:
                self._omitted_at, self._omitted_once = depth, True
            else:
                try:
                    self.canonical.start(name, attributes, declarations)
                except CanonicalizationError as exc:
                    self._canonical_failed(exc)
        if self.measure and depth <= len(_BASE64_PATH) and tuple(self._tags) == _BASE64_PATH[:depth]:
            if depth == 2:
                self._attachments = 0
            elif depth == 3:
                self._attachments += 1  # numbered as envelope.parser numbers them: Attachment[1], ...
            elif depth == 4:
                self._begin_base64()

    def end(self, raw: str) -> None:
        depth = len(self._tags)
        if self._base64_at == depth:
            self._end_base64()
        if self._keeping:
            self._keep(f"</{self._names[-1]}>")
        if self.canonical is not None:
            if self._omitted_at == depth:
                self._omitted_at = 0
            elif not self._omitted_at:
                self.canonical.end()
        self._tags.pop()
        self._names.pop()
        self._scopes.pop()
        if self._kept_at == depth:
            self._keep("</w>")
            raise _Stop

    def data(self, text: str) -> None:
        if not self._tags:
            return
        if self._base64_at == len(self._tags):
            self._feed_base64(text)
        elif self._keeping:
            self._keep(escape_text(text))
        if (sink := self._to_canonical()) is not None:
            sink.text(text)

    def pi(self, target: str, data: str) -> None:
        # Outside the root element neither the tree (envelope.parser reads the root) nor
        # the canonical form of the root element has them.
        if not self._tags:
            return
        if self._keeping:
            self._keep(f"<?{target} {data}?>" if data else f"<?{target}?>")
        if (sink := self._to_canonical()) is not None:
            sink.pi(target, data)

    def comment(self, text: str) -> None:
        # Kept in the tree (the parser's checks see comments as lxml's tree has them); never canonical.
        if self._tags and self._keeping:
            self._keep(f"<!--{text}-->")

    # --- attachments ------------------------------------------------------------------------------

    def _begin_base64(self) -> None:
        self._base64_at = len(self._tags)
        self._base64_key = f"AttachmentEncoded/Attachment[{self._attachments}]/ContentTransferEncoded"
        self._decoder = Base64Decoder()
        self._hash = hashlib.sha256()
        self._size = 0
        self._base64_error = None

    def _feed_base64(self, text: str) -> None:
        if self._decoder is None:
            return
        try:
            data = self._decoder.feed(text)
        except InvalidEnvelope as exc:
            self._base64_error, self._decoder = str(exc), None
            return
        self._hash.update(data)
        self._size += len(data)

    def _end_base64(self) -> None:
        if self._decoder is not None:
            try:
                self._decoder.close()
            except InvalidEnvelope as exc:
                self._base64_error = str(exc)
        # A second AttachmentEncoded or ContentTransferEncoded makes envelope.parser refuse
        # the message before it asks for this; the first one measured stands.
        self.base64.setdefault(
            self._base64_key, MeasuredBase64(self._size, self._hash.hexdigest(), self._base64_error)
        )
        self._base64_at, self._decoder = 0, None


def read_streamed(
    path: Path,
    *,
    max_size: int,
    canonical: CanonicalSink | None = None,
    omit: str | None = None,
) -> StreamedMessage:
    """Read an edXML file in one streamed pass: small tree, measured attachments, canonical events (minus ``omit``)."""
    reader = _Pass(keep=None, canonical=canonical, omit=omit, measure=True)
    reader.run(path, max_size)
    root = reader.tree()
    assert root is not None  # a well-formed document has a root element
    return StreamedMessage(root, reader.base64, reader.canonical_error)


def first_element(path: Path, tag: str, *, max_size: int) -> etree._Element | None:
    """Read a file up to the end of the first element called ``tag`` (Clark notation); return it, or None."""
    reader = _Pass(keep=tag, canonical=None, omit=None, measure=False)
    reader.run(path, max_size)
    wrapper = reader.tree()
    return None if wrapper is None else wrapper[0]


class FirstElementReader:
    """``first_element`` fed a piece at a time (a payload read from wherever it is stored), stopping early.

    Call ``feed`` with each piece until it answers True (the element has closed: read no further),
    then ``element``. Memory holds the element and one piece, never the message.
    """

    def __init__(self, tag: str, *, max_size: int) -> None:
        self._pass = _Pass(keep=tag, canonical=None, omit=None, measure=False)
        self._parser = self._pass.parser()
        self._max_size = max_size
        #: Bytes fed so far.
        self.read = 0
        self.done = False

    def feed(self, piece: bytes) -> bool:
        """Parse one more piece; True once the element is read (later pieces are not needed)."""
        if self.done:
            return True
        self.read += len(piece)
        if self.read > self._max_size:
            raise EnvelopeTooLarge(f"message is over {self._max_size} bytes")
        self._parse(piece, False)
        return self.done

    def element(self) -> etree._Element | None:
        """The element, or None when the whole message was fed and holds none."""
        if not self.done:
            self._parse(b"", True)
        wrapper = self._pass.tree()
        return None if wrapper is None else wrapper[0]

    def _parse(self, piece: bytes, last: bool) -> None:
        try:
            self._parser.Parse(piece, last)
        except (expat.ExpatError, etree.XMLSyntaxError) as exc:
            raise MalformedXml(f"not well-formed XML: {exc}") from None
        except _Stop:
            self.done = True
