"""Keras models of the claims; `load_model` reads any of them back with a one-line error."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path


def load_model(path: str | os.PathLike):
    """Load a saved model (every custom layer and activation registered first).

    A missing, unreadable, truncated or corrupt file raises `ResultsError` with one line that
    names the file, the cause and how to rebuild it.
    """
    import memorization.models.mlp as mlp
    from memorization.errors import ResultsError

    path = Path(path)
    rebuild = f"retrain it (snakemake <target> --forcerun {path}, or delete {path.parent} and rerun)"
    if path.is_dir():
        raise ResultsError(f"model file {path} is a directory, not a .keras file; remove it, then {rebuild}")
    if not path.exists():
        raise ResultsError(f"model file {path} does not exist; {rebuild}")
    try:
        with open(path, "rb") as stream:
            stream.read(1)
    except PermissionError:
        raise ResultsError(f"cannot read model file {path}: permission denied; make it readable (chmod u+r)") from None
    if not zipfile.is_zipfile(path):
        raise ResultsError(f"model file {path} is truncated or corrupt (not a .keras zip archive); {rebuild}")
    try:
        return mlp.keras.saving.load_model(path)
    except Exception as error:  # Keras raises ValueError, OSError, BadZipFile, KeyError, ... for a bad file
        cause = (str(error).strip().splitlines() or [""])[0][:200] or type(error).__name__
        raise ResultsError(
            f"model file {path} is truncated or corrupt ({type(error).__name__}: {cause}); {rebuild}"
        ) from None
