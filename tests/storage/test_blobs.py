"""The content-addressed blob store keeps exact bytes under their digest."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from storage.errors import BlobError
from storage.payloads.files import BlobStore


def test_stored_bytes_are_exact_and_named_by_digest(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = "Công văn số 12/UBND-VP".encode() + bytes(range(256))
    sha = store.put(data)
    assert sha == hashlib.sha256(data).hexdigest()
    assert store.path_for(sha).name == sha
    assert store.read(sha) == data


def test_same_bytes_twice_are_stored_once(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    a = store.put(b"x" * 10)
    b = store.put(b"x" * 10)
    assert a == b
    assert len([p for p in tmp_path.rglob("*") if p.is_file()]) == 1


def test_streamed_chunks_give_digest_and_size(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    chunks = [b"a" * 1000, b"b" * 5, b""]
    sha, size = store.put_chunks(chunks)
    assert size == 1005
    assert sha == hashlib.sha256(b"".join(chunks)).hexdigest()


def test_failed_write_leaves_no_temp_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)

    def broken():
        yield b"partial"
        raise RuntimeError("client went away")

    with pytest.raises(RuntimeError):
        store.put_chunks(broken())
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_rehash_detects_flipped_byte_and_missing_blob(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    sha = store.put(b"hello archive")
    assert store.rehash(sha) == sha
    path = store.path_for(sha)
    path.write_bytes(b"hellO archive")
    assert store.rehash(sha) != sha
    path.unlink()
    assert store.rehash(sha) is None
    with pytest.raises(BlobError):
        store.read(sha)


def test_malformed_digest_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        BlobStore(tmp_path).path_for("../../etc/passwd")


def test_sweep_removes_only_old_temp_files(tmp_path: Path) -> None:
    import os
    import time

    store = BlobStore(tmp_path)
    sha = store.put(b"kept")
    (tmp_path / "tmp").mkdir(exist_ok=True)
    old, fresh = tmp_path / "tmp" / "blob-old", tmp_path / "tmp" / "blob-fresh"
    old.write_bytes(b"half")
    fresh.write_bytes(b"in progress")
    an_hour_ago = time.time() - 7200
    os.utime(old, (an_hour_ago, an_hour_ago))
    assert store.sweep_temp(older_than_seconds=3600) == 1
    assert not old.exists() and fresh.exists() and store.read(sha) == b"kept"


def _spooled(store: BlobStore, data: bytes) -> Path:
    out, path = store.temp_file()
    with out:
        out.write(data)
    return path


def test_a_spooled_file_is_adopted_under_its_digest_without_copying(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"<edXML>" + bytes(range(256)) * 64 + b"</edXML>"
    path = _spooled(store, data)
    inode = path.stat().st_ino
    sha = hashlib.sha256(data).hexdigest()
    assert path.name.startswith("blob-") and path.parent == tmp_path / "tmp"
    assert store.adopt(path, sha) == sha
    assert store.read(sha) == data
    assert store.path_for(sha).stat().st_ino == inode  # renamed, not rewritten
    assert not path.exists() and list((tmp_path / "tmp").iterdir()) == []


def test_adopting_bytes_already_stored_drops_the_temp_file(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    data = b"same bytes"
    sha = store.put(data)
    before = store.path_for(sha).stat().st_ino
    path = _spooled(store, data)
    assert store.adopt(path, sha) == sha
    assert not path.exists() and store.path_for(sha).stat().st_ino == before


def test_sweep_at_start_up_removes_at_once_the_spool_files_of_exited_processes_only(tmp_path: Path) -> None:
    import subprocess
    import sys

    store = BlobStore(tmp_path)
    leave = "import sys; from storage.payloads.files import BlobStore; print(BlobStore(sys.argv[1]).temp_file()[1])"
    dead = Path(subprocess.run([sys.executable, "-c", leave, str(tmp_path)], capture_output=True, text=True,
                               check=True).stdout.strip())
    holder = subprocess.Popen([sys.executable, "-c", leave + "; sys.stdout.flush(); input()", str(tmp_path)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        alive = Path(holder.stdout.readline().strip())
        mine = _spooled(store, b"being received here")
        assert dead.exists() and alive.exists()
        assert store.sweep_temp() == 1
        assert not dead.exists() and alive.exists() and mine.exists()
    finally:
        holder.communicate("\n", timeout=30)
