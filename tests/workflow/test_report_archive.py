"""End to end at test scale: the claims report links, the HTML report captions every figure, and
the archive target writes an archive that verifies, and fails naming the file after one changed byte."""

import io
import json
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import REPO, snakemake

pytestmark = pytest.mark.workflow
TOP = "memorization-test"


@pytest.fixture(scope="module")
def archived(test_scale_run):
    """The session's test-scale run, plus its report and archive (only those two jobs run here)."""
    result = snakemake(test_scale_run, "--cores", "2", "archive", "--configfile", "config/test.yaml")
    assert result.returncode == 0, result.stderr[-4000:]
    return test_scale_run / "results" / "test"


def verify(path: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "memorization.cli", "verify-archive", str(path)]
    environment = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    return subprocess.run(command, capture_output=True, text=True, env=environment, timeout=300)


def members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {info.name.removeprefix(f"{TOP}/"): tar.extractfile(info).read() for info in tar if info.isfile()}


def test_archive_verifies_and_holds_every_kind_of_result(archived):
    archive = archived / "archive.tar.gz"
    checked = verify(archive)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "OK" in checked.stdout

    names = set(members(archive))
    expected = {
        "claims.csv", "claims.md", "config.yaml", "report.html", "packages.txt", "SHA256SUMS",
        "ro-crate-metadata.json", "workflow/Snakefile", "workflow/src/memorization/archive.py",
        "data/mnist.provenance.json",
    }
    for claim_row in (archived / "claims").glob("*.csv"):
        claim = claim_row.stem
        expected |= {f"claims/{claim}.csv", f"tables/{claim}.csv", f"provenance/{claim}.json"}
    for metrics in (archived / "runs").glob("*/*/metrics.json"):
        prefix = metrics.parent.relative_to(archived).as_posix()
        expected |= {f"{prefix}/{name}" for name in ("metrics.json", "metrics.provenance.json", "examples.npz")}
    for model in (archived / "models").iterdir():
        prefix = model.relative_to(archived).as_posix()
        expected |= {f"{prefix}/{name}" for name in ("provenance.json", "training.json", "history.csv")}
    expected |= {path.relative_to(archived).as_posix() for path in (archived / "figures").iterdir()}
    assert expected <= names, sorted(expected - names)
    assert not any(name.endswith(".keras") for name in names), "models are archived only when the config asks"


def test_archive_crate_describes_the_run(archived):
    content = members(archived / "archive.tar.gz")
    graph = {entity["@id"]: entity for entity in json.loads(content["ro-crate-metadata.json"])["@graph"]}
    action = graph["#workflow-run"]
    records = [json.loads(content[name]) for name in content if name.endswith("provenance.json")
               and not name.startswith("provenance/")]
    assert action["startTime"] == min(record["started"] for record in records)
    assert action["endTime"] == max(record["finished"] for record in records)
    assert {"@id": "config.yaml"} in action["object"] and {"@id": "figures/c1.png"} in action["result"]
    assert graph["./"]["mainEntity"] == {"@id": "workflow/Snakefile"}


@pytest.mark.parametrize("name", ["figures/c1.png", "runs/c1/linear-w0zeros-gd-n3-s0-*/metrics.json", "report.html"])
def test_one_changed_byte_inside_fails_naming_the_file(archived, tmp_path, name):
    content = members(archived / "archive.tar.gz")
    if "*" in name:  # run keys end with a digest of the run's settings
        prefix, suffix = name.split("*")
        name = next(member for member in content if member.startswith(prefix) and member.endswith(suffix))
    payload = bytearray(content[name])
    payload[len(payload) // 2] ^= 0x01
    content[name] = bytes(payload)
    altered = tmp_path / "altered.tar.gz"
    with tarfile.open(altered, "w:gz") as tar:
        for member, data in content.items():
            info = tarfile.TarInfo(f"{TOP}/{member}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    checked = verify(altered)
    assert checked.returncode != 0
    problems = [line for line in checked.stderr.splitlines() if line.startswith(("altered:", "missing:", "extra:"))]
    assert len(problems) == 1 and problems[0].startswith(f"altered: {name} ("), checked.stderr


def test_report_captions_every_figure_with_its_measured_statistic(archived):
    html = (archived / "report.html").read_text()
    found = re.search(r"var results = (\{.*?\});\s*</script>", html, re.S)
    assert found, "no results in the report"
    results = json.loads(found.group(1))
    figures = sorted((archived / "figures").glob("*.png"))
    assert figures
    for figure in figures:
        key = figure.relative_to(archived.parents[1]).as_posix()
        assert key in results, f"{key} is not in the report"
        caption = results[key]["caption"]
        claim = re.match(r"c[0-9]+", figure.stem).group(0)
        value = pd.read_csv(archived / "claims" / f"{claim}.csv", dtype=str)["value"].iloc[0]
        assert claim.upper() in caption, f"{key}: the caption does not name the claim"
        assert value in caption, (
            f"{key}: the caption does not show the measured statistic {value}; end report/{claim}.rst with "
            f"'.. csv-table::' / ':file: results/{{{{ snakemake.config[\"scale\"] }}}}/claims/{claim}.csv' / "
            "':header-rows: 1'"
        )
    assert "results/test/claims.csv" in results


def test_claims_table_links_its_figure_and_the_provenance_of_its_runs(archived):
    table = pd.read_csv(archived / "claims.csv", keep_default_na=False)
    for row in table.itertuples():
        assert (archived / row.figure).is_file(), row.figure
        index = json.loads((archived / row.provenance).read_text())
        assert index["claim"] == row.claim and index["runs"]
        for steps in index["runs"].values():
            for step in steps.values():
                record = archived / step["record"]
                assert record.is_file() and json.loads(record.read_text())["config_sha256"] == step["config_sha256"]
