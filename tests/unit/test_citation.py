"""CITATION.cff (Citation File Format 1.2.0) parses and cites the software and the papers.

cffconvert, the reference validator, is not used: its last release (2.0.0) needs jsonschema<4,
which conflicts with the workflow's jsonschema pin. The fields required by the CFF 1.2.0 schema
are checked here instead."""

from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]


def citation():
    return yaml.safe_load((REPO / "CITATION.cff").read_text())


def test_required_fields_of_the_software_entry():
    cff = citation()
    assert cff["cff-version"] == "1.2.0"
    assert cff["type"] == "software"
    assert cff["message"].strip() and cff["title"].strip()
    assert cff["authors"] and all("name" in author or "family-names" in author for author in cff["authors"])
    assert cff["license"] == "MIT"


def test_version_and_license_agree_with_pyproject_and_license_file():
    import tomllib

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert str(citation()["version"]) == project["version"]
    assert project["license"] == {"text": "MIT"}
    license_text = (REPO / "LICENSE").read_text()
    assert license_text.startswith("MIT License") and "2026 The memorization-reproduction authors" in license_text


def test_references_cite_the_paper_and_its_pnas_follow_up():
    references = {reference["title"]: reference for reference in citation()["references"]}
    paper = references["Memorization in Overparameterized Autoencoders"]
    assert [author["family-names"] for author in paper["authors"]] == ["Radhakrishnan", "Yang", "Belkin", "Uhler"]
    assert paper["year"] == 2019
    assert any(identifier["value"] == "arXiv:1810.10333" for identifier in paper["identifiers"])
    follow_up = references["Overparameterized neural networks implement associative memory"]
    assert [author["family-names"] for author in follow_up["authors"]] == ["Radhakrishnan", "Belkin", "Uhler"]
    assert (follow_up["journal"], follow_up["volume"], follow_up["issue"], follow_up["year"]) == (
        "Proceedings of the National Academy of Sciences", 117, 44, 2020)
    for reference in references.values():
        assert reference["type"] in {"article", "generic"}
        assert all(set(author) <= {"family-names", "given-names", "name"} for author in reference["authors"])
