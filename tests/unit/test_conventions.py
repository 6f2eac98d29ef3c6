"""Workflow-catalog conventions: config/README.md documents every config key of the schemas,
and .snakemake-workflow-catalog.yml states the tested usage."""

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "config" / "schema"


def _load(name: str) -> dict:
    return yaml.safe_load((SCHEMAS / name).read_text())


def _resolve(node: dict, document: dict) -> tuple[dict, dict]:
    while isinstance(node, dict) and "$ref" in node:
        file, _, fragment = node["$ref"].partition("#")
        if file:
            document = _load(file)
        target = document
        for part in fragment.lstrip("/").split("/") if fragment else []:
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return node, document


def schema_keys(node=None, document=None, prefix="") -> set[str]:
    """Every key of the config schemas as a dotted path (list items of objects as key[].sub)."""
    if node is None:
        node = document = _load("config.schema.yaml")
    node, document = _resolve(node, document)
    keys = {prefix} if prefix else set()
    for key, sub in (node.get("properties") or {}).items():
        keys |= schema_keys(sub, document, f"{prefix}.{key}" if prefix else key)
    items = node.get("items")
    if isinstance(items, dict):
        items, item_document = _resolve(items, document)
        for key, sub in (items.get("properties") or {}).items():
            keys |= schema_keys(sub, item_document, f"{prefix}[].{key}")
    return keys


def documented_name(key: str) -> str:
    key = re.sub(r"^c\d+\.model$", "model", key)
    key = re.sub(r"^c[678]\.optimizer$", "optimizer", key)
    key = re.sub(r"^c\d+\.model\.", "model.", key)
    key = re.sub(r"^c[678]\.optimizer\.", "optimizer.", key)
    return re.sub(r"^resources\.(train|measure|other)\.", "resources.<job>.", key)


def documented_keys() -> set[str]:
    """The first cells of the key tables (everything after the heading 'Top-level keys')."""
    readme = (REPO / "config" / "README.md").read_text()
    reference = readme[readme.index("## Top-level keys"):]
    return set(re.findall(r"^\| `([^`]+)` \|", reference, re.M))


def test_config_readme_lists_every_schema_key():
    keys = schema_keys()
    assert len(keys) > 150
    missing = sorted({documented_name(key) for key in keys} - documented_keys())
    assert not missing, missing


def test_config_readme_lists_no_key_the_schemas_lack():
    documented = documented_keys()
    known = {documented_name(key) for key in schema_keys()}
    assert documented <= known, sorted(documented - known)


def test_catalog_file_states_the_tested_usage():
    catalog = yaml.safe_load((REPO / ".snakemake-workflow-catalog.yml").read_text())
    usage = catalog["usage"]
    assert usage["mandatory-flags"]["flags"] == "--configfile config/quick.yaml"
    assert "snakemake --cores 2 all --configfile config/quick.yaml" in usage["mandatory-flags"]["desc"]
    # Software is installed once from pins, not deployed per rule (README, "Environments").
    assert usage["software-stack-deployment"] == {"conda": False, "singularity": False, "singularity+conda": False}
    assert usage["report"] is True
    for config in ("config/quick.yaml", "config/test.yaml", "config/config.yaml"):
        assert (REPO / config).is_file()
