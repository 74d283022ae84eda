"""Real faults of a file for tests: read-only, locked by another writer, on a full file system."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def read_only(path: Path) -> Iterator[None]:
    """`path` cannot be written: mode 0444, and for root (whom modes do not stop) the immutable flag."""
    mode = path.stat().st_mode
    path.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable and subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode != 0:
        path.chmod(mode)
        pytest.skip("root, and chattr +i is not possible here: cannot make a file read-only")
    try:
        yield
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        path.chmod(mode)


@contextmanager
def locked(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holds the write lock of the SQLite file at `path`."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield other
    finally:
        other.execute("ROLLBACK")
        other.close()


@contextmanager
def full_disk(directory: Path, size_kb: int = 256) -> Iterator[Path]:
    """A small tmpfs mounted on `directory`; `fill()` of the yielded filler path takes its last byte."""
    directory.mkdir(parents=True, exist_ok=True)
    mount = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(directory)], capture_output=True
    )
    if mount.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mount.stderr.decode().strip()}")
    try:
        yield directory / "filler"
    finally:
        subprocess.run(["umount", "-l", str(directory)], check=True)


def fill(filler: Path) -> None:
    """Write `filler` until the file system is full."""
    with filler.open("ab", buffering=0) as out:
        try:
            while out.write(b"\0" * 4096):
                pass
        except OSError:
            pass
    assert shutil.disk_usage(filler.parent).free < 4096
