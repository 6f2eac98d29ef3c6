"""Data loading and validation: every bad input stops with one clear line and no output."""

import numpy as np
import pytest

from memorization import data, files
from memorization.errors import DataError


def small_mnist(mnist_arrays, per_split=1000):
    keep = np.concatenate(
        [np.flatnonzero(mnist_arrays["split"] == code)[:per_split] for code in (data.TRAIN, data.TEST)]
    )
    return {key: mnist_arrays[key][keep] for key in data.ARRAYS}


def write(path, arrays):
    np.savez(path, **arrays)
    return path


def test_mirror_mnist_is_valid_and_official_sized(mnist_arrays):
    data.validate(mnist_arrays, "mnist")
    assert mnist_arrays["x"].shape[1:] == (28, 28)
    assert (mnist_arrays["split"] == data.TEST).sum() == 10_000


def test_prepare_writes_a_validated_copy(tmp_path, mnist_arrays):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write(mirror / "mnist.npz", small_mnist(mnist_arrays))
    summary = data.prepare("mnist", mirror, tmp_path / "out" / "mnist.npz")
    assert summary["n_train"] == summary["n_test"] == 1000
    assert summary["sha256"] == files.sha256_file(tmp_path / "out" / "mnist.npz")
    reloaded = data.load_prepared(tmp_path / "out" / "mnist.npz", "mnist")
    np.testing.assert_array_equal(reloaded["x"], small_mnist(mnist_arrays)["x"])


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (lambda a: a.update(x=a["x"].astype(np.float32)), "uint8"),
        (lambda a: a.update(x=a["x"][:, :27, :27]), "shape"),
        (lambda a: a.update(y=a["y"][:-1]), "differ in length"),
        (lambda a: a.update(split=np.full_like(a["split"], 2)), "split"),
        (lambda a: a.update(index=np.zeros_like(a["index"])), "duplicate"),
        (lambda a: a.update(y=np.full_like(a["y"], 3)), "label counts"),
        (lambda a: a.update(x=np.zeros_like(a["x"])), "blank"),
    ],
)
def test_invalid_content_is_rejected_with_its_cause(tmp_path, mnist_arrays, corrupt, message):
    arrays = small_mnist(mnist_arrays)
    corrupt(arrays)
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write(mirror / "mnist.npz", arrays)
    out = tmp_path / "out" / "mnist.npz"
    with pytest.raises(DataError, match=message) as caught:
        data.prepare("mnist", mirror, out)
    assert "\n" not in str(caught.value)
    assert not out.exists()
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_truncated_file_is_reported_as_corrupt(tmp_path, mnist_arrays):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    path = write(mirror / "mnist.npz", small_mnist(mnist_arrays))
    path.write_bytes(path.read_bytes()[:5000])
    with pytest.raises(DataError, match="truncated or corrupt"):
        data.prepare("mnist", mirror, tmp_path / "mnist.npz")
    assert not (tmp_path / "mnist.npz").exists()


def test_missing_array_missing_file_and_missing_mirror(tmp_path, mnist_arrays):
    arrays = small_mnist(mnist_arrays)
    del arrays["index"]
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    write(mirror / "mnist.npz", arrays)
    with pytest.raises(DataError, match="lacks the array"):
        data.prepare("mnist", mirror, tmp_path / "a.npz")
    with pytest.raises(DataError, match="does not exist"):
        data.prepare("cifar10", mirror, tmp_path / "b.npz")
    with pytest.raises(DataError, match="not a directory"):
        data.prepare("mnist", tmp_path / "nowhere", tmp_path / "c.npz")
    with pytest.raises(DataError, match="unknown data set"):
        data.prepare("imagenet", mirror, tmp_path / "d.npz")


def test_failed_download_says_what_to_do(monkeypatch):
    import keras

    def offline():
        raise Exception("URL fetch failure on https://storage.googleapis.com/...: None -- [Errno -3]")

    monkeypatch.setattr(keras.datasets.mnist, "load_data", offline)
    with pytest.raises(DataError, match="data_mirror") as caught:
        data.load_source("mnist", None)
    assert "could not download mnist" in str(caught.value)


def test_subset_is_deterministic_and_seed_dependent(mnist_arrays):
    first = data.select_indices(mnist_arrays, 10, seed=4)
    again = data.select_indices(mnist_arrays, 10, seed=4)
    other = data.select_indices(mnist_arrays, 10, seed=5)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert (mnist_arrays["split"][first] == data.TRAIN).all()
    test_images = data.select_indices(mnist_arrays, 10, seed=4, split=data.TEST)
    assert (mnist_arrays["split"][test_images] == data.TEST).all()
    with pytest.raises(DataError, match="asked for"):
        data.select_indices(mnist_arrays, 10**6, seed=0)


def test_unit_vectors_are_flat_and_scaled():
    images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)
    np.testing.assert_allclose(data.to_unit_interval_rows(images, "float64"), [[0.0, 1.0, 0.2, 0.4]])
