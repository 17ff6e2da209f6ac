"""The archive: blobs ledger and fixity, audit heads, retention and disposal, reports, registers."""

# Importing the archive arms the guard that keeps archived messages immutable in every session.
from storage.archive import immutability as _immutability  # noqa: F401
