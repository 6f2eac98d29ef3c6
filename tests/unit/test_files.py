"""The one atomic writer: complete files or none, the previous good file kept on failure, the
mode a plain open() gives, and a hash read in blocks."""

import hashlib
import os
import stat

import numpy as np
import pytest

from memorization import files


def test_a_failed_write_keeps_the_previous_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "out" / "table.csv"
    files.write_text(target, "good\n")
    with pytest.raises(RuntimeError):
        with files.atomic_output(target) as temporary:
            temporary.write_text("half")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "good\n"
    assert sorted(path.name for path in target.parent.iterdir()) == ["table.csv"]


def test_outputs_get_the_mode_of_a_plain_open_not_mkstemps_0600(tmp_path):
    files.write_json(tmp_path / "a.json", {"x": np.float64(0.5), "y": np.arange(2)})
    with open(tmp_path / "b.json", "w"):
        pass
    mode = stat.S_IMODE(os.stat(tmp_path / "a.json").st_mode)
    assert mode == stat.S_IMODE(os.stat(tmp_path / "b.json").st_mode) == files.FILE_MODE
    assert (tmp_path / "a.json").read_text() == '{\n  "x": 0.5,\n  "y": [\n    0,\n    1\n  ]\n}\n'


def test_the_temporary_name_keeps_the_suffix_that_libraries_read_the_format_from(tmp_path):
    with files.atomic_output(tmp_path / "figure.png") as temporary:
        assert temporary.suffix == ".png" and temporary.name.startswith(".figure.")
        temporary.write_bytes(b"png")


def test_a_full_disk_names_the_output_not_the_temporary_file(tmp_path):
    with pytest.raises(OSError) as raised:
        with files.atomic_output(tmp_path / "model.keras"):
            raise OSError(28, "No space left on device")
    assert raised.value.filename == str(tmp_path / "model.keras")


def test_sha256_of_a_file_larger_than_one_block_matches_hashlib(tmp_path):
    payload = os.urandom(files.HASH_BLOCK * 2 + 17)
    (tmp_path / "blob").write_bytes(payload)
    assert files.sha256_file(tmp_path / "blob") == hashlib.sha256(payload).hexdigest()
    assert files.sha256_bytes(payload) == hashlib.sha256(payload).hexdigest()


def test_npz_round_trip(tmp_path):
    files.write_npz(tmp_path / "e.npz", a=np.arange(3.0))
    with np.load(tmp_path / "e.npz") as arrays:
        np.testing.assert_array_equal(arrays["a"], [0.0, 1.0, 2.0])
