"""The archive's RO-Crate metadata against an independent validator: roc-validator
(``rocrate_validator``, CRS4), profile Workflow Run Crate 0.5 (with the Process Run Crate 0.5,
Workflow RO-Crate 1.0 and RO-Crate 1.1 profiles it builds on), run offline (see
``rocrate_offline.py``)."""

import tarfile

import pytest
from rocrate_offline import issues, validate
from test_archive import TOP, small_archive  # noqa: F401  (fixture)

# The one recommendation the archive cannot meet: the main workflow must be a file of the crate
# (Workflow RO-Crate), so its @id is a relative path, while Process Run Crate 0.5 recommends an
# absolute URI for every application, the workflow included (the check fires once for each of
# its types SoftwareSourceCode and ComputationalWorkflow).
KNOWN = {("RECOMMENDED", "process-run-crate-0.5_5.1", "The SoftwareApplication id SHOULD be an absolute URI")}


@pytest.fixture
def crate_dir(small_archive, tmp_path):  # noqa: F811
    output, _ = small_archive
    with tarfile.open(output, "r:gz") as tar:
        tar.extractall(tmp_path / "unpacked", filter="data")
    return tmp_path / "unpacked" / TOP


def test_crate_meets_required_and_recommended_checks(crate_dir, tmp_path):
    result, counts = validate(crate_dir, tmp_path / "cache", severity="RECOMMENDED")
    found = set(issues(result))
    assert found <= KNOWN, sorted(found - KNOWN)
    assert counts[("REQUIRED", "failed")] == 0
    assert counts[("REQUIRED", "passed")] >= 20 and counts[("RECOMMENDED", "passed")] >= 20, counts


def test_validator_sees_a_broken_crate(crate_dir, tmp_path):
    """The validator really runs: a crate without its main workflow and run fails REQUIRED checks."""
    import json

    metadata = crate_dir / "ro-crate-metadata.json"
    document = json.loads(metadata.read_text())
    document["@graph"] = [entity for entity in document["@graph"] if entity["@id"] != "#workflow-run"]
    root = next(entity for entity in document["@graph"] if entity["@id"] == "./")
    del root["mainEntity"], root["mentions"]
    metadata.write_text(json.dumps(document))
    result, counts = validate(crate_dir, tmp_path / "cache", severity="REQUIRED")
    assert counts[("REQUIRED", "failed")] >= 1, counts
    assert any(severity == "REQUIRED" for severity, _, _ in issues(result))
