"""The claim registry is the one list of claims: every entry has its modules, schema, caption and
config sections, and the layout derived from a config follows it."""

import yaml

from memorization import registry
from memorization.config import fill_defaults
from memorization.layout import Layout

from conftest import REPO


def test_every_claim_has_its_experiment_plotting_schema_caption_and_config_sections():
    schema = yaml.safe_load((REPO / "config" / "schema" / "config.schema.yaml").read_text())
    for claim in registry.CLAIMS:
        experiment = claim.experiment()
        for step in ("expand_runs", "measure", "summarize"):
            assert callable(getattr(experiment, step)), (claim.id, step)
        assert claim.plotting_source().is_file() and callable(claim.plotting().draw)
        assert (REPO / "config" / "schema" / f"{claim.id}.schema.yaml").is_file()
        assert schema["properties"][claim.id] == {"$ref": f"{claim.id}.schema.yaml"}
        assert (REPO / "report" / f"{claim.id}.rst").is_file()
        for config in ("test.yaml", "quick.yaml", "config.yaml"):
            assert claim.id in yaml.safe_load((REPO / "config" / config).read_text()), (claim.id, config)


def test_report_categories_sort_in_the_papers_order():
    categories = [claim.category for claim in registry.CLAIMS]
    # Snakemake's report menu sorts categories as text.
    assert sorted([registry.CLAIMS_CATEGORY, *categories]) == [registry.CLAIMS_CATEGORY, *categories]
    assert categories[0].endswith("C1 linear span") and "C10" in categories[-1]


def test_unknown_claim_is_named():
    try:
        registry.claim("c99")
    except KeyError as error:
        assert "c99" in str(error) and "c10" in str(error)
    else:
        raise AssertionError("no error for an unknown claim")


def layout(name="test.yaml"):
    config = yaml.safe_load((REPO / "config" / name).read_text())
    return Layout(fill_defaults(config, REPO / "config" / "schema" / "config.schema.yaml"))


def test_layout_follows_the_registry_and_trains_each_model_once():
    test = layout()
    assert test.claim_ids == [claim.id for claim in registry.CLAIMS]
    measured = [model for runs in test.run_models.values() for model in runs.values()]
    assert set(measured) == set(test.models)
    # Shared FC models are measured by several claims; all other runs own their model, which C8
    # keys without the measurement settings (same readable prefix, another digest).
    assert len(measured) > len(test.models)
    for claim_id, runs in test.run_models.items():
        for run, model in runs.items():
            if registry.claim(claim_id).family == "fc":
                assert model == run
            elif claim_id == "c8":
                assert model.rsplit("-", 1)[0] == f"c8-{run.rsplit('-', 1)[0]}" and model != f"c8-{run}"
            else:
                assert model == f"{claim_id}-{run}"
    assert all(path.startswith("results/test/") for path in test.all_targets())


def test_archive_lists_each_shared_model_record_once():
    inputs = layout().archive_inputs(include_models=False)
    assert len(inputs["models"]) == len(set(inputs["models"]))
    assert not any(path.endswith("model.keras") for path in inputs["models"] + inputs["runs"])
    assert any(path.endswith("model.keras") for path in layout().archive_inputs(include_models=True)["models"])


def test_defaults_are_filled_inside_referenced_claim_sections(tmp_path):
    config = yaml.safe_load((REPO / "config" / "test.yaml").read_text())
    del config["c10"]["copies"], config["c3"]["model"]["use_bias"], config["c6"]["noise_samples"], config["training"]
    fill_defaults(config, REPO / "config" / "schema" / "config.schema.yaml")
    assert config["c10"]["copies"] == 20 and config["c3"]["model"]["use_bias"] is False
    assert config["c6"]["noise_samples"] == 200  # a default behind a $ref'd property
    assert config["training"]["checkpoint_seconds"] == 300


def test_targets_name_the_models_but_the_archive_packs_weights_only_on_request():
    test = layout()
    assert any(path.endswith("/model.keras") for path in test.all_targets())
    packed = [path for paths in test.archive_inputs(include_models=False).values()
              for path in (paths if isinstance(paths, list) else [paths])]
    assert not any(path.endswith(".keras") for path in packed)
