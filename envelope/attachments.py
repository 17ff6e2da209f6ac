"""Attachments: what a sender supplies, what a parsed message holds, base64 in chunks."""

from __future__ import annotations

import binascii
import hashlib
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field

from envelope.errors import InvalidEnvelope
from envelope.text import NfcFields

#: Base64 characters decoded per step; a multiple of 4 keeps chunks on quantum boundaries.
CHUNK_CHARS = 4 * 256 * 1024
#: Longest safe file name, in characters (most file systems allow 255 bytes).
_MAX_NAME = 200
# XML whitespace is allowed inside base64 text (MIME-style line breaks).
_DROP_WHITESPACE = str.maketrans("", "", " \t\r\n")


def safe_attachment_name(name: str) -> str:
    """Return a file name safe to write to disk: no directories, control or format characters."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    # Cc are control characters; Cf includes bidi overrides used to disguise extensions.
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf"))
    base = base.strip().lstrip(".").strip()
    if len(base) > _MAX_NAME:
        stem, dot, ext = base.rpartition(".")
        if dot and 0 < len(ext) <= 16:
            base = stem[: _MAX_NAME - len(ext) - 1] + "." + ext
        else:
            base = base[:_MAX_NAME]
    return base or "attachment"


class Base64Decoder:
    """Decodes base64 text fed in pieces of any size, raising InvalidEnvelope(field) if it is not base64."""

    def __init__(self, *, field: str | None = None) -> None:
        self.field = field
        self._carry = ""
        self._finished = False

    def feed(self, text: str) -> bytes:
        """Decode what ``text`` completes; a partial quantum waits for the next piece."""
        if "\n" in text or " " in text or "\r" in text or "\t" in text:
            # Four scans cost far less than a translate of text with no line breaks (the usual case).
            text = text.translate(_DROP_WHITESPACE)
        piece = self._carry + text
        usable = len(piece) - len(piece) % 4
        self._carry = piece[usable:]
        if not usable:
            return b""
        if self._finished:
            # Padding already ended the data; anything after it is garbage.
            raise InvalidEnvelope("data after base64 padding", field=self.field)
        try:
            data = binascii.a2b_base64(piece[:usable], strict_mode=True)
        except (binascii.Error, ValueError) as exc:
            raise InvalidEnvelope(f"invalid base64: {exc}", field=self.field) from None
        self._finished = piece[usable - 1] == "="
        return data

    def close(self) -> None:
        """Check that nothing is left over: the text ended on a whole quantum."""
        if self._carry:
            raise InvalidEnvelope("base64 text length is not a multiple of 4", field=self.field)


def iter_base64_chunks(
    encoded: str, *, field: str | None = None, chunk_chars: int = CHUNK_CHARS
) -> Iterator[bytes]:
    """Decode base64 text piece by piece, raising InvalidEnvelope(field) if it is not base64."""
    decoder = Base64Decoder(field=field)
    for start in range(0, len(encoded), chunk_chars):
        if data := decoder.feed(encoded[start : start + chunk_chars]):
            yield data
    decoder.close()


@dataclass(frozen=True, slots=True)
class Attachment(NfcFields):
    """A file to send, with its bytes in memory."""

    content_id: str
    name: str
    content_type: str
    data: bytes = field(repr=False)
    description: str = ""

    @property
    def safe_name(self) -> str:
        """The attachment name reduced to a safe bare file name."""
        return safe_attachment_name(self.name)

    @property
    def size(self) -> int:
        """Number of bytes."""
        return len(self.data)

    @property
    def sha256(self) -> str:
        """SHA-256 of the bytes, lowercase hex."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class ParsedAttachment(NfcFields):
    """An attachment read from a message: its base64 text kept, bytes decoded on demand.

    A message read as a stream (envelope.streaming) keeps no base64 text
    (``encoded`` is None): only the size and SHA-256 measured on the way; the
    bytes are in the stored message.
    """

    content_id: str
    name: str
    content_type: str
    description: str
    size: int
    sha256: str
    # Equality goes by size and sha256, which already stand for the content.
    encoded: str | None = field(default="", repr=False, compare=False, metadata={"verbatim": True})
    #: The manifest's ContentType when it differs from the attachment's own in a way that leaves one
    #: meaning (a sending gateway zipped the file; a generic type beside a specific one); else "".
    manifest_content_type: str = ""

    @classmethod
    def from_encoded(
        cls,
        *,
        content_id: str,
        name: str,
        content_type: str,
        description: str,
        encoded: str,
        field: str | None = None,
        manifest_content_type: str = "",
    ) -> ParsedAttachment:
        """Check base64 text and measure it (size, sha256) without keeping the decoded bytes."""
        digest = hashlib.sha256()
        size = 0
        for chunk in iter_base64_chunks(encoded, field=field):
            digest.update(chunk)
            size += len(chunk)
        return cls(
            content_id=content_id,
            name=name,
            content_type=content_type,
            description=description,
            size=size,
            sha256=digest.hexdigest(),
            encoded=encoded,
            manifest_content_type=manifest_content_type,
        )

    @property
    def safe_name(self) -> str:
        """The attachment name reduced to a safe bare file name."""
        return safe_attachment_name(self.name)

    def iter_chunks(self, chunk_chars: int = CHUNK_CHARS) -> Iterator[bytes]:
        """Yield the decoded bytes piece by piece."""
        if self.encoded is None:
            raise ValueError(f"attachment {self.content_id} was measured while streaming; its bytes were not kept")
        return iter_base64_chunks(self.encoded, chunk_chars=chunk_chars)

    def data(self) -> bytes:
        """Decode and return all the bytes."""
        return b"".join(self.iter_chunks())

    def to_attachment(self) -> Attachment:
        """Return an Attachment holding the decoded bytes."""
        return Attachment(
            content_id=self.content_id,
            name=self.name,
            content_type=self.content_type,
            data=self.data(),
            description=self.description,
        )
