"""Loading, validating and subsetting MNIST, Fashion-MNIST and CIFAR-10.

A prepared data set is one ``.npz`` file with the arrays of the mirror format (see
``shared/data/SOURCES.md``): ``x`` uint8 images, ``y`` uint8 labels, ``split`` (0 = official
train, 1 = official test) and ``index`` (position in the official split). Every array that
enters an experiment is checked here first, so a bad file stops a run with one clear line.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from memorization.errors import DataError
from memorization.files import sha256_file, write_npz

TRAIN, TEST = 0, 1


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    image_shape: tuple[int, ...]
    official_train: int
    official_test: int
    n_classes: int = 10


DATASETS = {
    "mnist": DatasetSpec("mnist", (28, 28), 60_000, 10_000),
    "fashion_mnist": DatasetSpec("fashion_mnist", (28, 28), 60_000, 10_000),
    "cifar10": DatasetSpec("cifar10", (32, 32, 3), 50_000, 10_000),
}
ARRAYS = ("x", "y", "split", "index")


def spec_of(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise DataError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}") from None


NPZ_MAGIC = b"PK"  # an .npz is a zip archive
NPY_MAGIC = b"\x93NUMPY"  # a single array saved with numpy.save
MIRROR_REMEDY = "copy it again from the mirror"


def prepared_remedy(path) -> str:
    return f"rerun the data rule (snakemake <target> --forcerun prepare_data, or delete {path} and rerun)"


def _what_it_is(head: bytes) -> str:
    """What a file that is not a zip archive looks like, from its first bytes."""
    text = head.lstrip().lower()
    if not head:
        return "an empty file"
    if text.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in text[:512]:
        return "an HTML page (e.g. an error page saved by a failed download)"
    return f"not a zip archive (it starts with {head[:8]!r})"


def read_npz(path: str | os.PathLike, remedy: str = MIRROR_REMEDY) -> dict[str, np.ndarray]:
    """Read the four mirror arrays from ``path``; any unreadable file becomes a DataError.

    ``remedy`` is what the message tells the user to do about a damaged file: copy a mirror file
    again, or rerun the data rule for a prepared one.
    """
    path = Path(path)
    if path.is_dir():
        raise DataError(f"data file {path} is a directory, not an .npz file; remove it, then {remedy}")
    if not path.exists():
        raise DataError(f"data file {path} does not exist; check data_mirror or rerun the data rule")
    try:
        with open(path, "rb") as stream:
            head = stream.read(512)
    except PermissionError:
        raise DataError(f"cannot read data file {path}: permission denied; make it readable (chmod u+r)") from None
    except OSError as error:
        raise DataError(f"cannot read data file {path}: {error.strerror or error}") from None
    if head.startswith(NPY_MAGIC):
        raise DataError(
            f"{path} is a single .npy array saved under an .npz name, not an .npz archive of "
            f"{', '.join(ARRAYS)}; write it with numpy.savez, or {remedy}"
        )
    if not head.startswith(NPZ_MAGIC):
        raise DataError(f"{path} is not an npz file: it is {_what_it_is(head)}; {remedy}")
    try:
        with np.load(path, allow_pickle=False) as archive:
            missing = [key for key in ARRAYS if key not in archive.files]
            if missing:
                raise DataError(f"{path} lacks the array(s) {', '.join(missing)}; it is not in the mirror format")
            return {key: archive[key] for key in ARRAYS}
    except DataError:
        raise
    except PermissionError:
        raise DataError(f"cannot read data file {path}: permission denied; make it readable (chmod u+r)") from None
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as error:
        cause = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise DataError(
            f"{path} is truncated or corrupt ({type(error).__name__}: {cause}); {remedy}"
        ) from None


def load_from_keras(name: str) -> dict[str, np.ndarray]:
    """Download (or read Keras's cache of) the official data set and put it in mirror format."""
    import keras

    loader = {
        "mnist": keras.datasets.mnist,
        "fashion_mnist": keras.datasets.fashion_mnist,
        "cifar10": keras.datasets.cifar10,
    }[spec_of(name).name]
    try:
        (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # the loaders raise bare Exception on network failure
        raise DataError(
            f"could not download {name} through keras.datasets ({type(error).__name__}: {error}); "
            "without internet, point data_mirror at a mirror directory (e.g. --config data_mirror=../shared/data)"
        ) from None
    return {
        "x": np.concatenate([x_train, x_test]).astype(np.uint8),
        "y": np.concatenate([y_train.reshape(-1), y_test.reshape(-1)]).astype(np.uint8),
        "split": np.repeat(np.array([TRAIN, TEST], np.uint8), [len(x_train), len(x_test)]),
        "index": np.concatenate([np.arange(len(x_train)), np.arange(len(x_test))]).astype(np.int32),
    }


def resolve_mirror(configured: str | None) -> str | None:
    """The mirror directory: the config value, else $MEMORIZATION_DATA_MIRROR, else None (download)."""
    return configured or os.environ.get("MEMORIZATION_DATA_MIRROR") or None


def load_source(name: str, mirror: str | os.PathLike | None) -> tuple[dict[str, np.ndarray], str]:
    """The raw arrays of ``name`` and a description of where they came from."""
    spec_of(name)
    if mirror:
        path = Path(mirror) / f"{name}.npz"
        if not Path(mirror).is_dir():
            raise DataError(f"data_mirror {mirror} is not a directory")
        return read_npz(path), f"mirror:{path.resolve()} sha256:{sha256_file(path)}"
    return load_from_keras(name), f"keras.datasets.{name}"


def validate(arrays: dict[str, np.ndarray], name: str, origin: str = "") -> None:
    """Check shapes, dtypes, value ranges, split indices and label counts."""
    spec = spec_of(name)
    where = f"{name} ({origin})" if origin else name
    x, y, split, index = (arrays[key] for key in ARRAYS)
    for key in ("y", "split", "index"):
        if not np.issubdtype(arrays[key].dtype, np.integer):
            raise DataError(f"{where}: array {key} must hold integers, got dtype {arrays[key].dtype}")
    if x.dtype != np.uint8:
        raise DataError(f"{where}: images must be uint8 0..255, got dtype {x.dtype}")
    if x.ndim != 1 + len(spec.image_shape) or tuple(x.shape[1:]) != spec.image_shape:
        raise DataError(f"{where}: images must have shape (N, {', '.join(map(str, spec.image_shape))}), got {x.shape}")
    lengths = {key: len(arrays[key]) for key in ARRAYS}
    if len(set(lengths.values())) != 1:
        raise DataError(f"{where}: arrays differ in length: {lengths}")
    if y.ndim != 1 or y.size and (y.min() < 0 or y.max() >= spec.n_classes):
        raise DataError(f"{where}: labels must be a vector of integers 0..{spec.n_classes - 1}")
    if not np.isin(split, (TRAIN, TEST)).all():
        raise DataError(f"{where}: split must hold only 0 (train) and 1 (test)")
    for code, official, label in ((TRAIN, spec.official_train, "train"), (TEST, spec.official_test, "test")):
        in_split = index[split == code]
        if in_split.size == 0:
            raise DataError(f"{where}: no {label} images")
        if in_split.min() < 0 or in_split.max() >= official:
            raise DataError(f"{where}: {label} index outside 0..{official - 1}")
        if np.unique(in_split).size != in_split.size:
            raise DataError(f"{where}: duplicate {label} indices")
        counts = np.bincount(y[split == code], minlength=spec.n_classes)
        if in_split.size >= 100 * spec.n_classes and counts.min() < in_split.size / (10 * spec.n_classes):
            raise DataError(f"{where}: {label} label counts {counts.tolist()} are far from balanced; wrong labels?")
    if x.max() == x.min():
        raise DataError(f"{where}: every pixel has the same value; the images are blank")


def prepare(name: str, mirror: str | os.PathLike | None, out_path: str | os.PathLike) -> dict:
    """Load, validate and write one data set; return a summary for provenance."""
    arrays, origin = load_source(name, mirror)
    validate(arrays, name, origin)
    write_npz(out_path, **arrays)
    return {
        "dataset": name,
        "origin": origin,
        "sha256": sha256_file(out_path),
        "n_train": int((arrays["split"] == TRAIN).sum()),
        "n_test": int((arrays["split"] == TEST).sum()),
    }


def load_prepared(path: str | os.PathLike, name: str) -> dict[str, np.ndarray]:
    arrays = read_npz(path, remedy=prepared_remedy(path))
    validate(arrays, name, str(path))
    return arrays


def select_indices(arrays: dict[str, np.ndarray], n: int, seed: int, split: int = TRAIN) -> np.ndarray:
    """Positions of ``n`` images of one split, drawn without replacement from ``seed``.

    The same seed always gives the same images, whatever else the run does; the official
    indices are ``arrays["index"][positions]``.
    """
    candidates = np.flatnonzero(arrays["split"] == split)
    if not 1 <= n <= candidates.size:
        raise DataError(f"asked for {n} images but the split holds {candidates.size}")
    chosen = np.random.default_rng(seed).choice(candidates.size, size=n, replace=False)
    return candidates[np.sort(chosen)]


def to_unit_interval_rows(images: np.ndarray, dtype: str = "float32") -> np.ndarray:
    """uint8 images -> rows of floats in [0, 1], one flattened image per row."""
    return (images.reshape(len(images), -1) / 255.0).astype(dtype)
