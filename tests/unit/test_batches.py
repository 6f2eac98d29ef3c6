"""Batched jobs: how runs are cut into jobs, what a job asks for, and how an interrupted batch
keeps the models it finished."""

import copy

import pytest
import yaml

from conftest import REPO
from memorization.batches import keep_finished, remove_batch_checkpoints, restore_finished
from memorization.config import fill_defaults
from memorization.layout import Layout, chunked
from memorization.scripting import Step, run_steps

SCHEMA = REPO / "config" / "schema" / "config.schema.yaml"


def layout_of(scale: str, **resources) -> Layout:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    if scale != "paper":
        config.update(yaml.safe_load((REPO / "config" / f"{scale}.yaml").read_text()))
    config = copy.deepcopy(config)
    for step, value in resources.items():
        config["resources"][step]["runs_per_job"] = value
    return Layout(fill_defaults(config, SCHEMA))


@pytest.mark.parametrize("count, size, expected", [
    (0, 3, []),
    (1, 3, [1]),
    (6, 3, [3, 3]),
    (7, 3, [3, 2, 2]),
    (8, 3, [3, 3, 2]),
    (5, 1, [1, 1, 1, 1, 1]),
    (5, 10, [5]),
])
def test_chunks_are_consecutive_at_most_size_and_differ_by_at_most_one(count, size, expected):
    members = list(range(count))
    chunks = chunked(members, size)
    assert [len(chunk) for chunk in chunks] == expected
    assert [member for chunk in chunks for member in chunk] == members


@pytest.mark.parametrize("scale", ["test", "quick", "paper"])
@pytest.mark.parametrize("runs_per_job", [1, 3])
def test_every_model_and_run_is_in_exactly_one_job_of_its_own_group(scale, runs_per_job):
    layout = layout_of(scale, train=runs_per_job, measure=runs_per_job)
    trained = [key for batch in layout.train_batches for key in batch.members]
    assert sorted(trained) == sorted(layout.models)
    measured = [member for batch in layout.measure_batches for member in batch.members]
    assert sorted(measured) == sorted((claim, run) for claim, runs in layout.runs.items() for run in runs)
    for batch in layout.train_batches:
        assert {layout.models[key]["claim"] for key in batch.members} == {batch.group}
        assert len(batch.members) <= layout.runs_per_job("train", batch.group)
    for batch in layout.measure_batches:
        assert {claim for claim, _ in batch.members} == {batch.group}
    names = [batch.name for batch in layout.train_batches + layout.measure_batches]
    assert len(names) == len(set(names)) and all(name.isidentifier() for name in names)


def test_a_claim_override_of_runs_per_job_applies_to_that_claim_only():
    layout = layout_of("quick", train=8, measure=8)
    assert layout.runs_per_job("train", "c8") == 1  # quick.yaml: C8's nets get a job each
    assert layout.runs_per_job("train", "fc") == 8
    c8_jobs = [batch for batch in layout.train_batches if batch.group == "c8"]
    assert len(c8_jobs) == sum(model["claim"] == "c8" for model in layout.models.values())


def test_outputs_inputs_and_logs_of_a_job_are_its_members_own():
    layout = layout_of("test", train=2, measure=2)
    batch = next(batch for batch in layout.measure_batches if len(batch.members) == 2)
    steps = layout.batch_steps(batch)
    assert [(step["claim"], step["run"]) for step in steps] == list(batch.members)
    for step in steps:
        assert step["settings"] == layout.runs[step["claim"]][step["run"]]
        assert set(step["outputs"].values()) == set(layout.run_files(step["claim"], step["run"]))
        assert step["inputs"]["model"] == f"{layout.model_of(step['claim'], step['run'])}/model.keras"
    assert len(layout.batch_outputs(batch)) == len(set(layout.batch_outputs(batch))) == 2 * 3
    assert layout.batch_logs(batch) == [layout.measure_log(claim, run) for claim, run in batch.members]


def test_changing_one_runs_setting_changes_only_the_job_holding_it():
    def members(layout):
        return {batch.name: batch.members for batch in layout.train_batches}

    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    config.update(yaml.safe_load((REPO / "config" / "quick.yaml").read_text()))
    before = members(Layout(fill_defaults(copy.deepcopy(config), SCHEMA)))
    # The 2-stage nets on 4 x 4 images become 3-stage ones: same count, keys sort in place.
    config["c7"]["sweeps"][0]["stages"] = [1, 3]
    after = members(Layout(fill_defaults(config, SCHEMA)))
    assert before.keys() == after.keys()
    changed = sorted(name for name in after if after[name] != before[name])
    c7_jobs = [name for name in after if name.startswith("train_c7_")]
    assert changed and set(changed) < set(c7_jobs), changed


def test_jobs_of_float64_nets_are_told_apart():
    layout = layout_of("quick")
    kinds = {batch.group: layout.batch_is_float64(batch) for batch in layout.train_batches}
    assert kinds["c1"] and kinds["c6"] and kinds["c7"] and not kinds["fc"] and not kinds["c8"]


# --- an interrupted batch keeps what it finished ------------------------------------------------


def write_outputs(folder, text="weights"):
    folder.mkdir(parents=True, exist_ok=True)
    outputs = {name: str(folder / file) for name, file in
               (("model", "model.keras"), ("history", "history.csv"), ("training", "training.json"), ("provenance", "provenance.json"))}
    for path in outputs.values():
        with open(path, "w") as stream:
            stream.write(f"{text}:{path}")
    return outputs


def test_a_finished_model_is_restored_after_its_outputs_were_deleted(tmp_path):
    outputs = write_outputs(tmp_path / "models" / "m")
    checkpoint = tmp_path / "models" / "m" / "checkpoint"
    checkpoint.mkdir()
    (checkpoint / "m.state.npz").write_text("training state")
    keep_finished(checkpoint, outputs)
    assert not (checkpoint / "m.state.npz").exists()  # no longer needed once the model is finished
    contents = {name: open(path).read() for name, path in outputs.items()}
    for path in outputs.values():  # what Snakemake does to the outputs of a failed job
        (tmp_path / path).unlink()
    assert restore_finished(checkpoint, outputs)
    assert {name: open(path).read() for name, path in outputs.items()} == contents


def test_nothing_is_restored_unless_every_output_was_kept(tmp_path):
    outputs = write_outputs(tmp_path / "models" / "m")
    checkpoint = tmp_path / "models" / "m" / "checkpoint"
    keep_finished(checkpoint, outputs)
    (checkpoint / "finished" / "history.csv").unlink()
    for path in outputs.values():
        (tmp_path / path).unlink()
    assert not restore_finished(checkpoint, outputs)
    assert not any((tmp_path / path).exists() for path in outputs.values())


def test_checkpoints_of_a_complete_batch_are_removed(tmp_path):
    members = []
    for name in ("a", "b"):
        outputs = write_outputs(tmp_path / name)
        keep_finished(tmp_path / name / "checkpoint", outputs)
        members.append({"outputs": outputs})
    remove_batch_checkpoints(members)
    assert not (tmp_path / "a" / "checkpoint").exists() and not (tmp_path / "b" / "checkpoint").exists()


def test_a_restored_step_skips_its_task_and_the_next_step_still_runs(tmp_path):
    ran = []

    def task(settings, inputs, outputs, log):
        ran.append(settings["name"])

    steps = [
        Step(task, "first", {"name": "first"}, {}, {}, str(tmp_path / "first.log"), restore=lambda: True),
        Step(task, "second", {"name": "second"}, {}, {}, str(tmp_path / "second.log"), restore=lambda: False),
    ]
    run_steps(steps, runtime={"backend": "tensorflow"})
    assert ran == ["second"]
    assert "outputs restored" in (tmp_path / "first.log").read_text()
    assert "second: done" in (tmp_path / "second.log").read_text()


def test_a_failing_step_ends_the_job_with_its_one_line_error(tmp_path, capsys):
    from memorization.errors import MemorizationError

    def broken(settings, inputs, outputs, log):
        raise MemorizationError("run r: the model file is not a Keras model")

    with pytest.raises(SystemExit) as exit_info:
        run_steps([Step(broken, "measure c1/r", {}, {}, {}, str(tmp_path / "r.log"))], runtime={})
    assert exit_info.value.code == 1
    assert capsys.readouterr().err.strip() == "error: run r: the model file is not a Keras model"
