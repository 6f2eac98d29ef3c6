"""Same settings and seed, same machine: identical numbers, whether a run trains alone in a fresh
process or after other runs in the same process (a batched job).

A cheap companion of tests/workflow/test_determinism.py for the default suite: two claims' train
and measure steps (C1's float64 linear net, and C3's deep float32 net with a seeded Keras
initialisation, measured through autodiff Jacobians) run through the workflow's own job entry
(`scripting.run_steps`) on a small synthetic MNIST-shaped data set. One process runs them,
then other runs, then them again; a second process runs them alone. Every metric (timings
excepted), every loss of the training history and every trained weight must agree exactly.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from memorization import data, files

pytestmark = pytest.mark.keras
REPO = Path(__file__).resolve().parents[2]
TIMING = re.compile(r"seconds|duration|time|elapsed|per_s", re.I)
JOB = """
import json, sys
from memorization.scripting import Step, experiment_step, run_steps
specs = json.loads(open(sys.argv[1]).read())
steps = [Step(experiment_step(spec["module"], spec["step"]), spec["label"], spec["settings"], spec["inputs"],
              spec["outputs"], None) for spec in specs]
run_steps(steps, runtime={"backend": "tensorflow", "seed": 0, "deterministic": True}, threads=1, uses_keras=True)
"""


def claim_runs(complete_section):
    """(claim, run settings) of the C1 GD run from a random W0 and of the C3 selu net."""
    from memorization.experiments import c1, c3

    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    c1_runs = c1.expand_runs(complete_section("c1", config["c1"]), seed=0)
    gd_random = next(s for s in c1_runs.values() if s["optimizer"] == "gd" and s["init"] == "random")
    c3_runs = list(c3.expand_runs(complete_section("c3", config["c3"]), seed=0).values())
    selu = next(s for s in c3_runs if s["model"]["nonlinearity"] == "selu")
    return [("c1", gd_random), ("c3", selu)]


def steps_of(claim: str, settings: dict, data_path: str, folder: Path) -> list[dict]:
    model = {name: str(folder / name) for name in ("model.keras", "history.csv", "training.json")}
    train_outputs = {"model": model["model.keras"], "history": model["history.csv"], "training": model["training.json"]}
    train = {"module": "fc" if claim == "c3" else claim, "step": "train", "label": f"train {folder.name}",
             "settings": settings["model"] if claim == "c3" else settings, "inputs": {"data": data_path},
             "outputs": train_outputs}
    measure = {"module": claim, "step": "measure", "label": f"measure {folder.name}", "settings": settings,
               "inputs": {"data": data_path, "training": model["training.json"], "model": model["model.keras"]},
               "outputs": {"metrics": str(folder / "metrics.json"), "examples": str(folder / "examples.npz")}}
    return [train, measure]


def run_job(specs: list[dict], spec_path: Path) -> None:
    spec_path.write_text(json.dumps(specs))
    environment = dict(os.environ, PYTHONPATH=str(REPO / "src"), KERAS_BACKEND="tensorflow")
    result = subprocess.run([sys.executable, "-c", JOB, str(spec_path)], capture_output=True, text=True,
                            env=environment, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.fixture(scope="module")
def copies(tmp_path_factory, complete_section):
    root = tmp_path_factory.mktemp("repeat")
    rng = np.random.default_rng(0)
    data_path = str(root / "mnist.npz")
    files.write_npz(data_path, x=rng.integers(0, 256, size=(18, 28, 28), dtype=np.uint8),
                    y=np.arange(18, dtype=np.uint8) % 10, split=np.array([data.TRAIN] * 10 + [data.TEST] * 8),
                    index=np.concatenate([np.arange(10), np.arange(8)]))
    runs = claim_runs(complete_section)
    first, again, alone = (
        [step for index, (claim, settings) in enumerate(runs)
         for step in steps_of(claim, settings, data_path, root / name / f"{claim}-{index}")]
        for name in ("first", "again", "alone")
    )
    # "other" runs the same claims with other seeds, so the repeat follows different work.
    other_runs = [(claim, {**settings, "seed": settings["seed"] + 5,
                           **({"model": {**settings["model"], "seed": settings["seed"] + 5}} if claim == "c3" else {})})
                  for claim, settings in runs]
    other = [step for index, (claim, settings) in enumerate(other_runs)
             for step in steps_of(claim, settings, data_path, root / "other" / f"{claim}-{index}")]
    run_job(first + other + again, root / "batched.json")
    run_job(alone, root / "alone.json")
    return [sorted((root / name).iterdir()) for name in ("first", "again", "alone", "other")]


def without_timing(metrics: dict) -> dict:
    return {key: value for key, value in metrics.items() if not TIMING.search(key)}


def test_a_run_repeated_in_one_process_or_alone_gives_identical_numbers(copies, keras_float64):
    from memorization.models import load_model

    first, again, alone, other = copies
    assert [folder.name for folder in first] == ["c1-0", "c3-1"]
    for folders in zip(first, again, alone):
        metrics = [json.loads((folder / "metrics.json").read_text())["metrics"] for folder in folders]
        assert len(metrics[0]) >= 8 and all(np.isfinite(v) for v in metrics[0].values() if isinstance(v, float))
        assert without_timing(metrics[0]) == without_timing(metrics[1]) == without_timing(metrics[2]), folders[0].name
        losses = [pd.read_csv(folder / "history.csv").filter(like="loss") for folder in folders]
        assert len(losses[0]) >= 2
        for copy in losses[1:]:
            pd.testing.assert_frame_equal(losses[0], copy, check_exact=True)
        weights = [load_model(folder / "model.keras").get_weights() for folder in folders]
        for copy in weights[1:]:
            assert all(np.array_equal(a, b) for a, b in zip(weights[0], copy, strict=True)), folders[0].name
    # The runs in between had other seeds and really computed other numbers.
    for folder, different in zip(first, other):
        one, two = (json.loads((f / "metrics.json").read_text())["metrics"] for f in (folder, different))
        assert without_timing(one) != without_timing(two), folder.name
