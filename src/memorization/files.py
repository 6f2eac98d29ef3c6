"""Writing outputs so that no reader ever sees half a file, and hashing them.

Every file the workflow produces goes through `atomic_output`: it is written under a temporary
name in the same folder and renamed over the target only once complete, so a crash, a kill or a
full disk leaves either the previous good file or nothing, never a truncated one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Iterator

HASH_BLOCK = 1 << 20


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# mkstemp creates 0600 files, and the rename keeps that mode: outputs get the mode a plain
# open() would give them instead.
FILE_MODE = 0o666 & ~_current_umask()


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    The temporary name keeps the target's suffix (Keras and Matplotlib pick the format from it)
    and starts with a dot, so globs for outputs do not see it. On any failure it is removed and
    ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}")
    os.close(handle)
    temporary = Path(name)
    os.chmod(temporary, FILE_MODE)
    try:
        yield temporary
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        if error.errno is not None and error.filename in (None, str(temporary)):
            # A full disk while writing names no file, or the temporary one: name the output.
            raise type(error)(error.errno, error.strerror, str(path)) from error
        raise
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_bytes(path: str | os.PathLike, payload: bytes) -> None:
    with atomic_output(path) as temporary:
        temporary.write_bytes(payload)


def write_text(path: str | os.PathLike, text: str) -> None:
    write_bytes(path, text.encode())


def write_json(path: str | os.PathLike, payload) -> None:
    """Pretty, key-sorted JSON; NumPy scalars and arrays are written as plain numbers and lists."""
    write_text(path, json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n")


def write_npz(path: str | os.PathLike, **arrays) -> None:
    import numpy as np

    with atomic_output(path) as temporary:
        with open(temporary, "wb") as stream:
            np.savez_compressed(stream, **arrays)


def write_csv(path: str | os.PathLike, frame) -> None:
    """A pandas DataFrame as CSV without its index."""
    with atomic_output(path) as temporary:
        frame.to_csv(temporary, index=False)


def sha256_file(path: str | os.PathLike) -> str:
    """Hex sha256 of a file, read in blocks so large files need little memory."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(HASH_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_bytes(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
