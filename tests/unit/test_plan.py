"""The plan before a run: work per model against the nets Keras builds, the arithmetic of the
estimate, its calibration from a finished run, and the warning for the paper scale."""

import json

import numpy as np
import pytest
import yaml

from conftest import REPO
from memorization import plan
from memorization.config import fill_defaults, load_workflow_config, merge
from memorization.layout import Layout

SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"


def conv_macs(model) -> float:
    """Multiply-adds of a conv net from the layers Keras built: kernel size times output pixels."""
    import keras

    total = 0.0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            height, width = layer.output.shape[1:3]
            total += float(np.prod(layer.kernel.shape)) * height * width
    return total


def test_mlp_work_is_its_weight_count(keras_float64):
    from memorization.models.mlp import build_mlp

    settings = {"claim": "fc", "dataset": "mnist", "width": 32, "depth": 3}
    model = build_mlp(784, width=32, depth=3, use_bias=False)
    assert plan.macs_per_example(settings) == model.count_params()


@pytest.mark.parametrize("side, depth", [(4, 2), (8, 5)])
def test_linear_conv_work_matches_the_built_net(keras_float64, side, depth):
    from memorization.models.conv import build_linear_conv

    settings = {"claim": "c6", "dataset": "mnist", "side": side, "depth": depth}
    assert plan.macs_per_example(settings) == conv_macs(build_linear_conv(side, depth, dtype="float32"))


@pytest.mark.parametrize("claim, side, stages, channels, channels_in", [("c7", 8, 2, 4, 1), ("c7", 16, 4, 3, 1), ("c8", 16, 3, 5, 3)])
def test_downsampling_conv_work_matches_the_built_net(keras_float64, claim, side, stages, channels, channels_in):
    from memorization.models.conv import build_downsampling_conv

    settings = {"claim": claim, "dataset": "cifar10" if claim == "c8" else "mnist", "side": side, "stages": stages,
                "channels": channels}
    model = build_downsampling_conv(side, stages, channels, channels_in=channels_in, dtype="float32")
    assert plan.macs_per_example(settings) == pytest.approx(conv_macs(model))


def test_max_steps_are_found_wherever_a_family_keeps_them():
    assert plan.max_steps({"claim": "fc", "max_steps": 7}) == 7
    assert plan.max_steps({"claim": "c6", "optimizer": {"max_steps": 8}}) == 8
    assert plan.max_steps({"claim": "c1", "optimizer": "gd", "optimizer_settings": {"max_steps": 9}}) == 9


def quick_layout() -> Layout:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update(yaml.safe_load((REPO / "config" / "quick.yaml").read_text()))
    return Layout(fill_defaults(config, SCHEMA))


def flat_calibration(layout, *, rate=1e9, overhead=0.0, fraction=0.5, measure_s=2.0, startup=5.0) -> dict:
    families = {model["claim"] for model in layout.models.values()}
    return {
        "machine_matmul_flops": 1e10,
        "startup_s": startup,
        "families": {f: {"rate_flops": rate, "step_overhead_s": overhead, "steps_fraction": fraction} for f in families},
        "measure": {claim: {"seconds_per_run": measure_s, "macs_per_example": 1e30} for claim in layout.runs},
    }


def test_job_seconds_add_up_from_start_up_steps_and_measure_steps():
    layout = quick_layout()
    calibration = flat_calibration(layout)
    plans = plan.make_plan(layout, calibration, speed=2.0)
    fc = plans["fc"]
    expected = sum(
        calibration["startup_s"] / 2 + sum(
            plan.max_steps(layout.models[key]) * 0.5 * plan.flops_per_step(layout.models[key]) / 1e9 / 2
            for key in batch.members
        )
        for batch in layout.train_batches if batch.group == "fc"
    )
    assert fc.seconds == pytest.approx(expected)
    assert fc.models == sum(model["claim"] == "fc" for model in layout.models.values())
    c3 = plans["c3"]
    assert c3.seconds == pytest.approx(c3.measure_jobs * 2.5 + c3.runs * 1.0)  # start-up 5/2, 2 s/2 per run
    assert sum(p.train_jobs for p in plans.values()) == len(layout.train_batches)
    assert sum(p.measure_jobs for p in plans.values()) == len(layout.measure_batches)


def test_the_paper_scale_without_a_gpu_warns_and_names_the_quick_config():
    config = load_workflow_config([], SCHEMA, default=REPO / "config" / "config.yaml")
    layout = Layout(config)
    plans = plan.make_plan(layout, flat_calibration(layout))
    warned = plan.render(layout, plans, cores=2, gpu=None, speed=1.0, other_jobs=0)
    assert warned[-1].startswith("warning:") and "config/quick.yaml" in warned[-1]
    with_gpu = plan.render(layout, plans, cores=2, gpu="H200", speed=1.0, other_jobs=0)
    assert not any(line.startswith("warning:") for line in with_gpu)
    quick = quick_layout()
    lines = plan.render(quick, plan.make_plan(quick, flat_calibration(quick)), cores=2, gpu=None, speed=1.0, other_jobs=0)
    assert not any(line.startswith("warning:") for line in lines)


def test_config_files_merge_as_snakemake_merges_them():
    assert merge({"a": {"b": 1, "c": 2}, "d": 3}, {"a": {"c": 4}, "e": 5}) == {"a": {"b": 1, "c": 4}, "d": 3, "e": 5}
    config = load_workflow_config([REPO / "config" / "quick.yaml"], SCHEMA, default=REPO / "config" / "config.yaml")
    assert config["scale"] == "quick" and config["resources"]["claims"]["c8"]["train"]["runs_per_job"] == 1


def _finished_results(tmp_path):
    results = tmp_path / "results"
    # Three MLP sizes whose seconds per step are exactly 0.01 + work / 2e9.
    for width in (64, 128, 256):
        settings = {"claim": "fc", "dataset": "mnist", "width": width, "depth": 2, "n_train": 10, "max_steps": 1000}
        steps = 500
        seconds = steps * (0.01 + plan.flops_per_step(settings) / 2e9)
        folder = results / "models" / f"m{width}"
        folder.mkdir(parents=True)
        (folder / "provenance.json").write_text(json.dumps({"config": settings, "job": "train_fc_1"}))
        (folder / "training.json").write_text(json.dumps({"result": {"steps": steps, "seconds": seconds}}))
    run = results / "runs" / "c3" / "r"
    run.mkdir(parents=True)
    (run / "metrics.provenance.json").write_text(json.dumps(
        {"config": {"model": {"claim": "fc", "dataset": "mnist", "width": 64, "depth": 2}}, "duration_s": 3.0, "job": "measure_c3_1"}))
    jobs = results / "benchmarks" / "jobs"
    jobs.mkdir(parents=True)
    (jobs / "train_fc_1.tsv").write_text("s\th:m:s\n100.0\t0:01:40\n")
    (jobs / "measure_c3_1.tsv").write_text("s\th:m:s\n10.0\t0:00:10\n")
    return results


def test_calibration_fits_the_fixed_cost_and_rate_of_a_family(tmp_path):
    calibration = plan.calibrate(_finished_results(tmp_path))
    fc = calibration["families"]["fc"]
    assert fc["rate_flops"] == pytest.approx(2e9, rel=1e-6)
    assert fc["step_overhead_s"] == pytest.approx(0.01, rel=1e-6)
    assert fc["steps_fraction"] == 0.5
    assert calibration["measure"]["c3"]["seconds_per_run"] == 3.0
    assert calibration["machine_matmul_flops"] > 0


def test_the_plan_command_estimates_each_claim_and_writes_a_calibration(tmp_path, capsys):
    from memorization import cli

    configs = ["--configfile", str(REPO / "config" / "config.yaml"), "--configfile", str(REPO / "config" / "test.yaml")]
    assert cli.main(["plan", *configs, "--cores", "2"]) == 0
    printed = capsys.readouterr().out
    assert all(any(line.startswith(f"c{k} ") for line in printed.splitlines()) for k in range(1, 11))
    assert "estimated wall time on this machine (2 core(s)" in printed
    target = tmp_path / "calibration.json"
    results = _finished_results(tmp_path)
    assert cli.main(["plan", "--calibrate", str(results), "--calibration", str(target)]) == 0
    assert capsys.readouterr().out == f"wrote {target} from {results}\n"
    written = json.loads(target.read_text())
    assert written["families"]["fc"]["rate_flops"] == pytest.approx(2e9, rel=1e-6)
    # That calibration knows only the FC family: planning the whole workflow with it names what is missing.
    assert cli.main(["plan", *configs, "--cores", "2", "--calibration", str(target)]) != 0
    assert "the calibration has no models of 'c1'" in capsys.readouterr().err
