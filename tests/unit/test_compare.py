"""`memorization compare A B`: claims side by side, config and package differences, exit status."""

import csv
import io
import json
import tarfile
from pathlib import Path

import pytest
import yaml

from memorization import cli
from memorization.compare import FLIPPED_EXIT, CompareError, flatten, load, run

COLUMNS = ["claim", "statement", "statistic", "value", "threshold", "verdict", "scale", "figure", "provenance"]
ROWS = [
    ("c1", "A linear autoencoder trained by GD projects onto the span", "max relative distance < threshold",
     "8.186251688837045e-11", "1e-08", "reproduced"),
    ("c3", "Deep nonlinear FC autoencoders are contractive at the training examples",
     "fraction of attractors >= threshold", "0.4", "0.5", "not reproduced"),
    ("c4", "Iterating from test images or noise ends on training images, fraction, reached",
     "fraction reaching a training image >= threshold", "0.92", "0.5", "reproduced"),
]
CONFIG = {
    "scale": "test",
    "backend": "tensorflow",
    "seed": 0,
    "c1": {"n_train": [3], "gd": {"target_distance": 1e-12}},
    "c3": {"claim_threshold": 0.5, "model": {"width": 16, "depth": 2}},
}
PACKAGES = {"keras": "3.15.1", "numpy": "2.4.6", "snakemake": "9.27.1", "python": "3.11.7"}


def claims_csv(rows, intervals=None) -> str:
    buffer = io.StringIO()
    columns = COLUMNS + (["ci_low", "ci_high"] if intervals is not None else [])
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for index, (claim, statement, statistic, value, threshold, verdict) in enumerate(rows):
        row = [claim, statement, statistic, value, threshold, verdict, "test", f"figures/{claim}.png",
               f"provenance/{claim}.json"]
        if intervals is not None:
            row += list(intervals[index])
        writer.writerow(row)
    return buffer.getvalue()


def results_folder(root: Path, rows=ROWS, config=CONFIG, packages=PACKAGES, intervals=None) -> Path:
    """A hand-made results/<scale>/ folder: claims.csv, config.yaml and provenance records of a
    trained model and of a measurement."""
    root.mkdir(parents=True)
    (root / "claims.csv").write_text(claims_csv(rows, intervals))
    (root / "config.yaml").write_text("# The exact config of this run.\n" + yaml.safe_dump(config, sort_keys=False))
    records = {"models/c1-linear-w0zeros-gd-n3-s0/provenance.json": "train",
               "runs/c3/mlp-selu-w16-d2-n3-fanin-s0-51bcac/metrics.provenance.json": "measure"}
    for name, step in records.items():
        record = root / name
        record.parent.mkdir(parents=True)
        record.write_text(json.dumps({"step": step, "packages": packages}))
    return root


def archive_of(folder: Path, output: Path, top: str = "memorization-test", packages=PACKAGES) -> Path:
    """An archive like `build_archive` writes: one top folder, packages.txt beside the results."""
    text = "".join(f"{name}=={version}\n" for name, version in sorted(packages.items()))
    with tarfile.open(output, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                tar.add(path, arcname=f"{top}/{path.relative_to(folder).as_posix()}")
        info = tarfile.TarInfo(f"{top}/packages.txt")
        info.size = len(text.encode())
        tar.addfile(info, io.BytesIO(text.encode()))
    return output


def flipped_rows():
    rows = [list(row) for row in ROWS]
    rows[1][3], rows[1][5] = "0.6", "reproduced"  # c3 now passes
    return [tuple(row) for row in rows]


def test_same_results_exit_zero_with_no_differences(tmp_path):
    a = results_folder(tmp_path / "a")
    b = results_folder(tmp_path / "b")
    report, status = run(a, b)
    assert status == 0
    assert "no verdict flipped" in report
    assert "Config keys that differ (0)" in report and "Package versions that differ (0" in report
    assert "+0" in report  # differences of equal values


def test_flipped_verdict_config_and_packages_are_shown(tmp_path):
    a = results_folder(tmp_path / "a")
    config = json.loads(json.dumps(CONFIG))
    config["c3"]["model"]["width"] = 32
    config["backend"] = "jax"
    b = results_folder(tmp_path / "b", rows=flipped_rows(), config=config, packages=PACKAGES | {"keras": "3.16.0"})
    report, status = run(a, b)
    assert status == FLIPPED_EXIT == 3
    lines = report.splitlines()
    c3 = next(line for line in lines if line.startswith("c3 "))
    assert "0.4" in c3 and "0.6" in c3 and "+0.2" in c3 and "not reproduced" in c3 and "FLIPPED" in c3
    c1 = next(line for line in lines if line.startswith("c1 "))
    assert "FLIPPED" not in c1 and "8.186e-11" in c1
    assert any(line.split()[:3] == ["c3.model.width", "16", "32"] for line in lines)
    assert any(line.split()[:3] == ["backend", '"tensorflow"', '"jax"'] for line in lines)
    assert any(line.split()[:3] == ["keras", "3.15.1", "3.16.0"] for line in lines)
    assert "1 verdict(s) flipped: c3" in report


def test_archives_are_read_without_extracting(tmp_path, monkeypatch):
    a = archive_of(results_folder(tmp_path / "a"), tmp_path / "a.tar.gz")
    b = archive_of(results_folder(tmp_path / "b", rows=flipped_rows()), tmp_path / "b.tar.gz",
                   packages=PACKAGES | {"numpy": "2.5.0", "rich": "13.9.4"})

    def refuse(*args, **kwargs):
        raise AssertionError("compare must not extract")

    monkeypatch.setattr(tarfile.TarFile, "extract", refuse)
    monkeypatch.setattr(tarfile.TarFile, "extractall", refuse)
    workdir = tmp_path / "empty"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    report, status = run(a, b)
    assert status == 3 and list(workdir.iterdir()) == []
    assert "A: packages.txt; B: packages.txt" in report
    assert any(line.split() == ["numpy", "2.4.6", "2.5.0"] for line in report.splitlines())
    assert any(line.split() == ["rich", "(absent)", "13.9.4"] for line in report.splitlines())


def test_archive_against_folder_and_repacked_archive(tmp_path):
    folder = results_folder(tmp_path / "a")
    packed = tmp_path / "inside.tar.gz"
    with tarfile.open(packed, "w:gz") as tar:  # as `cd folder && tar czf ../inside.tar.gz .` writes it
        tar.add(folder, arcname=".")
    report, status = run(folder, packed)
    assert status == 0, report
    assert "no packages.txt in the archive" in report


def test_intervals_shown_where_present_and_missing_column_noted(tmp_path):
    a = results_folder(tmp_path / "a")  # no ci_low / ci_high columns
    b = results_folder(tmp_path / "b", intervals=[("5e-11", "9e-11"), ("0.3", "0.5"), ("", "")])
    report, status = run(a, b)
    assert status == 0
    c1 = next(line for line in report.splitlines() if line.startswith("c1 "))
    assert "[5e-11, 9e-11]" in c1
    assert f"{tmp_path / 'a'}: claims.csv has no ci_low / ci_high columns" in report
    assert f"{tmp_path / 'b'}: claims.csv has no" not in report


def test_markdown_output(tmp_path):
    a = results_folder(tmp_path / "a")
    b = results_folder(tmp_path / "b", rows=flipped_rows())
    report, status = run(a, b, markdown=True)
    assert status == 3
    assert "## Claims" in report
    assert "| claim | value A | value B | B - A |" in report
    assert any(line.startswith("| c3 |") and "FLIPPED" in line for line in report.splitlines())


def test_claim_only_on_one_side_is_noted_not_flipped(tmp_path):
    a = results_folder(tmp_path / "a")
    b = results_folder(tmp_path / "b", rows=ROWS[:2])
    report, status = run(a, b)
    assert status == 0
    assert f"c4: only in {tmp_path / 'a'}" in report


def test_folder_without_config_or_records_is_compared_with_notes(tmp_path):
    a = results_folder(tmp_path / "a")
    b = tmp_path / "b"
    b.mkdir()
    (b / "claims.csv").write_text(claims_csv(ROWS))
    report, status = run(a, b)
    assert status == 0
    assert "not compared (no config.yaml on one side)" in report
    assert "no provenance records with package versions" in report


@pytest.mark.parametrize(
    "breakage, message",
    [
        ("absent", "no such archive or results folder"),
        ("no claims", "no claims.csv in this folder"),
        ("missing column", "claims.csv has no column verdict"),
        ("bad yaml", "config.yaml is not readable YAML"),
        ("corrupt archive", "not a readable .tar.gz archive"),
        ("archive without claims", "the archive holds no claims.csv"),
    ],
)
def test_missing_or_corrupt_inputs_exit_2_with_one_line(tmp_path, capsys, breakage, message):
    good = results_folder(tmp_path / "good")
    bad = tmp_path / "bad"
    if breakage == "no claims":
        bad.mkdir()
    elif breakage == "missing column":
        results_folder(bad)
        text = (bad / "claims.csv").read_text().replace(",verdict,", ",outcome,")
        (bad / "claims.csv").write_text(text)
    elif breakage == "bad yaml":
        results_folder(bad)
        (bad / "config.yaml").write_text("scale: [test\nbackend: : :\n")
    elif breakage == "corrupt archive":
        bad = tmp_path / "bad.tar.gz"
        bad.write_bytes(archive_of(good, tmp_path / "x.tar.gz").read_bytes()[:300])
    elif breakage == "archive without claims":
        bad = tmp_path / "bad.tar.gz"
        with tarfile.open(bad, "w:gz") as tar:
            tar.add(good / "config.yaml", arcname="memorization-test/config.yaml")
    with pytest.raises(CompareError, match=message):
        load(bad)
    assert cli.main(["compare", str(good), str(bad)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    error = captured.err.strip()
    assert error.startswith("error: ") and message in error and "\n" not in error


def test_cli_prints_the_table_and_documents_exit_3(tmp_path, capsys):
    a = results_folder(tmp_path / "a")
    b = results_folder(tmp_path / "b", rows=flipped_rows())
    assert cli.main(["compare", str(a), str(b)]) == 3
    assert "FLIPPED" in capsys.readouterr().out
    assert cli.main(["compare", "--markdown", str(a), str(a)]) == 0
    assert "## Claims" in capsys.readouterr().out
    help_text = cli.build_parser()._subparsers._group_actions[0].choices["compare"].format_help()
    assert "3 when at least one verdict flipped" in " ".join(help_text.split())


def test_flatten_uses_dotted_paths():
    assert flatten({"a": {"b": {"c": 1}, "d": [1, 2]}, "e": None}) == {"a.b.c": "1", "a.d": "[1, 2]", "e": "null"}


def test_archive_against_folder_compares_the_packages_both_name(tmp_path):
    records = {"keras": "3.15.1", "tensorflow-cpu": "2.21.0", "keras_backend": "tensorflow", "backend_version": "2.21.0"}
    folder = results_folder(tmp_path / "a", packages=records)
    packed = archive_of(results_folder(tmp_path / "b"), tmp_path / "b.tar.gz",
                        packages={"keras": "3.16.0", "tensorflow_cpu": "2.21.0", "pytest": "9.2.0"})
    report, status = run(folder, packed)
    lines = [line.split() for line in report.splitlines()]
    assert ["keras", "3.15.1", "3.16.0"] in lines
    assert not any(line and line[0] in {"pytest", "tensorflow-cpu", "keras_backend", "backend_version"} for line in lines)
    assert "Package versions that differ (1;" in report
    assert "only packages named on both sides are compared" in report
