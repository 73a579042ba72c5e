"""Atomic file writes, the one way every part of hccbayes writes a file: a temporary file in the same
folder (``.<name>.<random>.tmp``), then ``os.replace`` — never half-written; a killed process leaves at
most such a temporary file. A file that already holds exactly the bytes to write is left alone (not
rewritten, its modification time kept): a re-run that changes nothing rewrites nothing."""
from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False


def write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    if _holds(path, data):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600 files; a report is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_text(path: str | Path, text: str) -> Path:
    return write_bytes(path, text.encode("utf-8"))


def write_csv(df, path: str | Path, **to_csv) -> Path:
    """A pandas DataFrame as CSV (``index=False`` unless given, ``\\n`` line ends), atomically."""
    to_csv.setdefault("index", False)
    return write_text(path, df.to_csv(lineterminator="\n", **to_csv))


@contextmanager
def replacing(path: str | Path):
    """For writers that need a path (NetCDF): yields a temporary path in the same folder, which replaces
    ``path`` when the block ends without an error and is removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    finally:
        Path(tmp).unlink(missing_ok=True)
