"""Storage errors the layers above map to answers: a payload that cannot be kept, an archived row rewritten."""

from __future__ import annotations


class BlobError(Exception):
    """A blob could not be written or read."""


class ArchiveImmutable(Exception):
    """An attempt to delete or rewrite an archived message outside the disposal path."""


class Superseded(Exception):
    """The state a change depended on moved on before the change was stored (it is stored alone, or not at all)."""
