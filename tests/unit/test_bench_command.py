"""`memorization bench`: the command passes its options to the benchmark and writes the table,
the figure and its summary (the timing itself is tests/unit/test_training_bench.py)."""

import pandas as pd
import pytest

from memorization import bench, cli


@pytest.fixture
def table():
    rows = [
        {"shape": "mlp-n10", "implementation": "keras-tensorflow", "default": True, "steps_per_s": 50.0,
         "gflops": 1.5, "ratio_to_pytorch": 0.5, "fraction_of_ceiling": 0.1},
        {"shape": "mlp-n10", "implementation": bench.REFERENCE, "default": False, "steps_per_s": 100.0,
         "gflops": 3.0, "ratio_to_pytorch": 1.0, "fraction_of_ceiling": 0.2},
        {"shape": "mlp-n10", "implementation": "matmul-numpy", "default": False, "steps_per_s": 0.0,
         "gflops": 15.0, "ratio_to_pytorch": float("nan"), "fraction_of_ceiling": 1.0},
    ]
    extra = {"threads": 3, "rounds": 2, "steps_per_s_min": 1.0, "steps_per_s_max": 2.0, "flops_per_step": 3.0e7,
             "device": "cpu", "cpu_per_wall": 1.0, "startup_s": 4.0, "first_step_s": 0.5}
    return pd.DataFrame([{**row, **extra} for row in rows], columns=bench.COLUMNS + bench.EXTRA_COLUMNS)


def test_bench_command_writes_the_table_figure_and_summary(tmp_path, monkeypatch, capsys, table):
    calls = []

    def fake_run_benches(**options):
        calls.append(options)
        return table

    monkeypatch.setattr(bench, "run_benches", fake_run_benches)
    output, figure = tmp_path / "out" / "bench.csv", tmp_path / "fig" / "bench.png"
    status = cli.main(["bench", "--output", str(output), "--figure", str(figure), "--shapes", "mlp-n10,conv-c8-32",
                       "--backends", "tensorflow,jax", "--default-backend", "jax", "--threads", "3", "--rounds", "2",
                       "--steps", "5", "--no-fit"])
    assert status == 0
    assert calls == [{"thread_counts": [3], "shapes": ["mlp-n10", "conv-c8-32"], "backends": ["tensorflow", "jax"],
                      "default_backend": "jax", "rounds": 2, "seconds": 2.0, "steps": 5, "with_fit": False}]
    written = pd.read_csv(output)
    assert list(written.columns) == bench.COLUMNS + bench.EXTRA_COLUMNS and len(written) == 3
    pd.testing.assert_frame_equal(written, table, check_dtype=False)
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.with_suffix(".pdf").read_bytes()[:4] == b"%PDF"
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].startswith("load average ") and printed[1] == ""
    assert printed[2:] == bench.summary_lines(table) + [f"wrote {output}"]


def test_bench_command_reports_an_unknown_shape_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setattr(bench, "installed_backends", lambda: ["tensorflow"])
    status = cli.main(["bench", "--output", str(tmp_path / "b.csv"), "--shapes", "mlp-n7", "--threads", "1"])
    assert status == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and error[0].startswith("error: unknown bench shape") and "mlp-n7" in error[0]
    assert not (tmp_path / "b.csv").exists()
