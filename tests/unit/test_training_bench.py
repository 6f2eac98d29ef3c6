"""The side-by-side benchmark: FLOP counts, the table's columns and ratios, the figure."""

import os
from importlib import util

import pandas as pd
import pytest

from memorization import bench
from memorization.errors import ConfigError


def test_mlp_flops_count_forward_weight_and_needed_input_gradients():
    shape = bench.Shape("tiny", "mlp", 3, widths=(4, 5, 4))
    # forward 2nab per layer, weight gradient 2nab, input gradient 2nab except for the first layer
    assert shape.flops_per_step() == 2 * 3 * (3 * (4 * 5 + 5 * 4) - 4 * 5)


def test_conv_layers_follow_the_downsampling_autoencoder():
    shape = bench.SHAPES["conv-c8-32"]
    layers = shape.conv_layers()
    assert [side for side, _, _ in layers] == [16, 8, 4, 2, 1, 2, 4, 8, 16, 32, 32]
    assert layers[0][1:] == (3, 32) and layers[-1][1:] == (32, 3)
    assert shape.flops_per_step() > 0


def test_unknown_shape_or_backend_is_a_one_line_error():
    with pytest.raises(ConfigError, match="unknown bench shape"):
        bench.run_bench(shapes=["mlp-n7"], backends=["tensorflow"], default_backend="tensorflow", threads=1)
    with pytest.raises(ConfigError, match="not installed"):
        bench.run_bench(shapes=["mlp-n10"], backends=["theano"], default_backend="tensorflow", threads=1)


@pytest.mark.workflow
def test_side_by_side_run_writes_the_table_and_figure(tmp_path):
    thread_counts = [1, 2] if len(os.sched_getaffinity(0)) >= 2 else [1]
    table = bench.run_benches(
        thread_counts=thread_counts, shapes=["mlp-n10"], backends=["tensorflow"], default_backend="tensorflow",
        rounds=1, steps=2, with_fit=False, log=lambda _: None,
    )
    path = tmp_path / "bench" / "bench.csv"
    bench.write_table(table, path)
    written = pd.read_csv(path)
    assert list(written.columns[: len(bench.COLUMNS)]) == bench.COLUMNS
    assert sorted(set(written.threads)) == thread_counts
    for threads, part in written.groupby("threads"):
        engine = part[part.implementation == "keras-tensorflow"].iloc[0]
        assert bool(engine["default"]) and engine.steps_per_s > 0 and engine["rounds"] == 1
        assert engine.gflops == pytest.approx(engine.steps_per_s * bench.SHAPES["mlp-n10"].flops_per_step() / 1e9)
        ceiling = part[part.implementation.str.startswith("matmul-")]
        assert {"matmul-numpy", "matmul-tensorflow"} <= set(ceiling.implementation)
        assert ceiling.fraction_of_ceiling.max() == pytest.approx(1.0)  # the ceiling of this thread count
        assert 0 < engine.fraction_of_ceiling
        # Every worker held to its thread count (a short measurement: some slack for stray threads).
        assert (part.cpu_per_wall <= threads + 0.5).all(), part[["implementation", "cpu_per_wall"]]
        assert engine.startup_s > 0 and engine.first_step_s > 0
        if util.find_spec("torch"):
            reference = part[part.implementation == bench.REFERENCE].iloc[0]
            assert reference.ratio_to_pytorch == pytest.approx(1.0) and not bool(reference["default"])
            assert engine.ratio_to_pytorch == pytest.approx(engine.steps_per_s / reference.steps_per_s)
    png = tmp_path / "bench.png"
    bench.draw(written, png, tmp_path / "bench.pdf")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (tmp_path / "bench.pdf").stat().st_size > 0
    lines = bench.summary_lines(written)
    assert sum(line.startswith("| mlp-n10 |") or line.startswith("| matmul-") for line in lines) == len(written)
    assert sum(line.startswith("| keras-tensorflow |") for line in lines) == len(thread_counts)  # start-up rows


def test_default_path_may_differ_per_model_family():
    per_family = {"fc": "jax", "conv": "tensorflow", "tiny64": "tensorflow"}
    assert bench.default_implementation("mlp-n100", per_family) == "keras-jax"
    assert bench.default_implementation("conv-c8-32", per_family) == "keras-tensorflow"
    assert bench.default_implementation("conv-c8-32", "torch") == "keras-torch"
    assert bench.implementations_for(["tensorflow", "jax"], per_family, with_fit=True)[:4] == [
        "keras-tensorflow", "keras-jax", "keras-fit-jax", "keras-fit-tensorflow"]
