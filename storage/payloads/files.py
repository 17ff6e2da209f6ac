"""Content-addressed blob store: one file per SHA-256, written atomically."""

from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from storage.errors import BlobError

CHUNK = 1024 * 1024


class BlobStore:
    """Files named by the full hex SHA-256 of their bytes under ``root/ab/cd/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._tmp = self.root / "tmp"

    def path_for(self, sha256: str) -> Path:
        """Where the blob with this digest lives."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a sha256 hex digest: {sha256!r}")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def digests(self) -> list[str]:
        """The digests of every stored blob, sorted (temp files left out)."""
        found: list[str] = []
        for first in sorted(self.root.glob("[0-9a-f][0-9a-f]")):
            for second in sorted(first.glob("[0-9a-f][0-9a-f]")):
                found.extend(p.name for p in second.iterdir() if len(p.name) == 64 and p.is_file())
        return sorted(found)

    def exists(self, sha256: str) -> bool:
        """True when the blob is stored."""
        return self.path_for(sha256).is_file()

    def put(self, data: bytes) -> str:
        """Store bytes; return their digest. Storing the same bytes twice is a no-op."""
        return self.put_chunks([data])[0]

    def put_chunks(self, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Stream chunks to a temp file, fsync, rename to the digest; return (digest, size)."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix=_temp_prefix())
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            final = self.path_for(sha)
            if final.is_file():
                os.unlink(tmp_name)
                return sha, size
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp_name, final)
            _fsync_dir(final.parent)
            return sha, size
        except OSError as exc:
            _unlink_quietly(tmp_name)
            raise BlobError(f"could not store blob: {exc}") from exc
        except BaseException:
            _unlink_quietly(tmp_name)
            raise

    def temp_file(self) -> tuple[BinaryIO, Path]:
        """Open a new temp file in the store's tmp directory (swept if abandoned) for a body being received."""
        self._tmp.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix=_temp_prefix())
        return os.fdopen(fd, "wb"), Path(name)

    def adopt(self, path: Path, sha256: str) -> str:
        """Make a complete temp file (from temp_file) the blob ``sha256``: fsync, rename, fsync the directory.

        The caller computed ``sha256`` while writing the file; the file is never read
        back here. If the blob is already stored the temp file is dropped.
        """
        try:
            final = self.path_for(sha256)
            if final.is_file():
                path.unlink()
                return sha256
            with path.open("rb") as fh:
                os.fsync(fh.fileno())
            final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(path, final)
            _fsync_dir(final.parent)
            return sha256
        except OSError as exc:
            _unlink_quietly(str(path))
            raise BlobError(f"could not store blob: {exc}") from exc

    def open(self, sha256: str) -> BinaryIO:
        """Open a stored blob for reading."""
        try:
            return self.path_for(sha256).open("rb")
        except FileNotFoundError as exc:
            raise BlobError(f"blob {sha256} is missing") from exc

    def read(self, sha256: str) -> bytes:
        """Return a stored blob's bytes."""
        with self.open(sha256) as fh:
            return fh.read()

    def iter_chunks(self, sha256: str, chunk_size: int = CHUNK) -> Iterator[bytes]:
        """Yield a stored blob in chunks."""
        with self.open(sha256) as fh:
            while chunk := fh.read(chunk_size):
                yield chunk

    def rehash(self, sha256: str) -> str | None:
        """Recompute a stored blob's digest; None when the file is missing."""
        digest = hashlib.sha256()
        try:
            for chunk in self.iter_chunks(sha256):
                digest.update(chunk)
        except BlobError:
            return None
        return digest.hexdigest()

    def sweep_temp(self, older_than_seconds: float = 3600.0) -> int:
        """Remove temp files a crashed writer left behind; return how many.

        Those of a process of this host that is no longer running go at once (a node killed
        mid-upload leaves its spool file); any other only once older than ``older_than_seconds``,
        as it may belong to a write in progress elsewhere (another host sharing the directory).
        """
        if not self._tmp.is_dir():
            return 0
        cutoff = time.time() - older_than_seconds
        removed = 0
        for path in self._tmp.glob("blob-*"):
            try:
                if _writer_gone(path.name) or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed

    def delete(self, sha256: str) -> bool:
        """Remove a blob (archival disposal only); True if it existed."""
        path = self.path_for(sha256)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(path.parent)
        return True


def _temp_prefix() -> str:
    # Who writes the file, so that a sweep knows a dead writer's file from a live one's.
    return f"blob-{os.getpid()}@{socket.gethostname()}@"


def _writer_gone(name: str) -> bool:
    """True when temp file ``name`` was written by a process of this host that has exited."""
    parts = name.removeprefix("blob-").split("@", 2)
    if len(parts) != 3 or not parts[0].isdigit() or parts[1] != socket.gethostname():
        return False
    pid = int(parts[0])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, someone else's
    return False


def _fsync_dir(path: Path) -> None:
    # The rename is durable only once the directory entry is on disk.
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unlink_quietly(name: str) -> None:
    try:
        os.unlink(name)
    except OSError:
        pass
