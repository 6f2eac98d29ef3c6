import json
import re
import math

import pandas as pd
import pytest

from memorization import claims


@pytest.mark.parametrize(
    "value, threshold, comparison, expected",
    [
        (1e-9, 1e-8, "<", claims.REPRODUCED),
        (1e-7, 1e-8, "<", claims.NOT_REPRODUCED),
        (0.95, 0.9, ">=", claims.REPRODUCED),
        (0.9, 0.9, ">", claims.NOT_REPRODUCED),
        (math.nan, 1.0, "<", claims.NOT_REPRODUCED),
        (math.inf, 1.0, ">", claims.NOT_REPRODUCED),
    ],
)
def test_verdict(value, threshold, comparison, expected):
    assert claims.verdict(value, threshold, comparison) == expected


def test_unknown_comparison_is_an_error():
    with pytest.raises(ValueError):
        claims.verdict(1.0, 1.0, "~")


def test_claims_table_is_sorted_numerically(tmp_path):
    paths = []
    for claim in ("c10", "c2", "c1"):
        row = claims.claim_row(claim, "s | t", "stat", 0.5, 1.0, "<", "test")
        path = tmp_path / f"{claim}.csv"
        claims.write_claim_row(row, path)
        paths.append(path)
    table = claims.assemble_claims_table(paths, tmp_path / "claims.csv", tmp_path / "claims.md")
    assert table.claim.tolist() == ["c1", "c2", "c10"]
    assert pd.read_csv(tmp_path / "claims.csv").columns.tolist() == claims.COLUMNS + claims.LINK_COLUMNS
    markdown = (tmp_path / "claims.md").read_text()
    assert "s \\| t" in markdown and len(re.findall(r"^\| c[0-9]+ \|", markdown, re.M)) == 3


def test_claims_table_links_figures_and_provenance_relative_to_itself(tmp_path):
    results = tmp_path / "results" / "quick"
    paths = []
    for claim in ("c1", "c2"):
        row = claims.claim_row(claim, "statement", "stat", 0.5, 1.0, "<", "quick")
        path = results / "claims" / f"{claim}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        claims.write_claim_row(row, path)
        paths.append(path)
    table = claims.assemble_claims_table(
        paths,
        results / "claims.csv",
        results / "claims.md",
        figures={"c1": str(results / "figures" / "c1.png"), "c2": None},
        provenance={"c1": str(results / "provenance" / "c1.json"), "c2": str(results / "provenance" / "c2.json")},
    )
    written = pd.read_csv(results / "claims.csv", keep_default_na=False)
    assert written.columns.tolist()[: len(claims.COLUMNS)] == claims.COLUMNS
    assert written.figure.tolist() == ["figures/c1.png", ""]
    assert written.provenance.tolist() == ["provenance/c1.json", "provenance/c2.json"]
    markdown = (results / "claims.md").read_text()
    assert "[c1.png](figures/c1.png)" in markdown and "[c2.json](provenance/c2.json)" in markdown
    assert table.figure.tolist() == ["figures/c1.png", ""]
    assert not list(results.glob(".*.tmp"))


def test_record_claim_judges_against_the_configured_threshold_and_writes_one_row(tmp_path):
    logged = []
    settings = {"section": {"claim_threshold": 0.5}, "scale": "test"}
    path = tmp_path / "row.csv"
    row = claims.record_claim(
        path, logged.append, settings, "c3", "a statement", statistic="fraction", value=0.4, comparison=">="
    )
    assert row["verdict"] == claims.NOT_REPRODUCED and row["statistic"] == "fraction >= threshold"
    written = pd.read_csv(path)
    assert list(written.columns) == claims.COLUMNS and len(written) == 1
    assert written.loc[0, "value"] == 0.4 and written.loc[0, "threshold"] == 0.5
    assert logged and "c3" in logged[0]


def test_tidy_metrics_gives_one_row_per_run_and_statistic(tmp_path):
    records = []
    for seed in (0, 1):
        path = tmp_path / f"metrics-{seed}.json"
        path.write_text(json.dumps({"settings": {"seed": seed, "width": 8}, "metrics": {"a": seed, "b": 2.5}}))
        records.append(path)
    table = claims.tidy_metrics(claims.read_records(records), lambda s: {"run": f"r{s['seed']}", "seed": s["seed"]})
    assert len(table) == 4 and set(table.columns) == {"run", "seed", "statistic", "value"}
    assert table.set_index(["run", "statistic"]).loc[("r1", "a"), "value"] == 1


def test_a_nan_statistic_never_reproduces():
    assert claims.verdict(float("nan"), 0.0, ">=") == claims.NOT_REPRODUCED
    assert claims.verdict(float("nan"), 1.0, "<") == claims.NOT_REPRODUCED


def test_seed_counts_and_outcomes_read_as_text():
    assert [claims.seeds(count) for count in (1, 2, 3.0)] == ["1 seed", "2 seeds", "3 seeds"]
    assert claims.outcome(claims.REPRODUCED) == claims.REPRODUCED
    assert claims.outcome(claims.STRADDLES) == claims.outcome(claims.UNFITTED) == claims.NOT_REPRODUCED


def test_a_missing_statistic_gives_a_nan_row_that_is_not_reproduced(tmp_path):
    """A summary whose selection found nothing may hand None on; the row says NaN, never crashes."""
    row = claims.claim_row("c4", "statement", "fraction", None, 0.5, ">=", "test")
    assert math.isnan(row["value"]) and row["verdict"] == claims.NOT_REPRODUCED
    claims.write_claim_row(row, tmp_path / "row.csv")
    assert math.isnan(pd.read_csv(tmp_path / "row.csv").loc[0, "value"])


def test_unknown_comparison_names_the_allowed_ones():
    with pytest.raises(ValueError) as error:
        claims.verdict(1.0, 1.0, "~")
    assert str(error.value) == "comparison must be one of <, <=, >, >=, got '~'"


def test_claim_row_judges_its_value_and_keeps_every_field(tmp_path):
    row = claims.claim_row("c7", "a statement", "fraction", 0.75, 0.5, ">=", "quick")
    assert row["verdict"] == claims.REPRODUCED and row["statistic"] == "fraction >= threshold"
    assert (row["claim"], row["statement"], row["value"], row["threshold"], row["scale"]) == (
        "c7", "a statement", 0.75, 0.5, "quick")
    # Written in the order of COLUMNS whatever the order of the dict.
    claims.write_claim_row(dict(reversed(list(row.items()))), tmp_path / "row.csv")
    written = pd.read_csv(tmp_path / "row.csv")
    assert list(written.columns) == claims.COLUMNS and written.loc[0, "scale"] == "quick"


def test_record_claim_writes_the_statement_and_scale_it_was_given(tmp_path):
    settings = {"section": {"claim_threshold": 1.0e-8}, "scale": "paper"}
    row = claims.record_claim(tmp_path / "row.csv", lambda _: None, settings, "c1", "W projects", statistic="distance",
                              value=1e-9, comparison="<")
    written = pd.read_csv(tmp_path / "row.csv").loc[0]
    assert written["statement"] == row["statement"] == "W projects" and written["scale"] == "paper"
    assert written["verdict"] == claims.REPRODUCED


@pytest.mark.parametrize(
    "content, message",
    [
        # 35 characters, cut inside the metrics: the parser stops at column 36, past the end.
        ('{"settings": {}, "metrics": {"a": 1', "is truncated or corrupt (Expecting ',' delimiter at line 1 column 36); "),
        (b'{"settings": {}, "metrics": {"a": "\xff"}}', "is not UTF-8 text (corrupt); "),
        ("[1, 2]", "lacks its settings or metrics; "),
        ('{"settings": {}, "metrics": [1]}', "lacks its settings or metrics; "),
        ('{"metrics": {"a": 1}}', "lacks its settings or metrics; "),
    ],
)
def test_unusable_metrics_records_are_named_with_their_cause(tmp_path, content, message):
    from memorization.errors import ResultsError

    path = tmp_path / "metrics.json"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ResultsError) as error:
        claims.read_record(path)
    remedy = f"rerun its measure job (snakemake <target> --forcerun {path}, or delete {path} and rerun)"
    assert str(error.value) == f"metrics file {path} {message}{remedy}"


def test_missing_metrics_record_or_a_folder_in_its_place_is_named(tmp_path):
    from memorization.errors import ResultsError

    path = tmp_path / "metrics.json"
    remedy = f"rerun its measure job (snakemake <target> --forcerun {path}, or delete {path} and rerun)"
    with pytest.raises(ResultsError) as error:
        claims.read_record(path)
    assert str(error.value) == f"metrics file {path} does not exist; {remedy}"
    path.mkdir()
    with pytest.raises(ResultsError) as error:
        claims.read_record(path)
    assert str(error.value) == f"metrics file {path} is a directory, not a JSON file; remove it, then {remedy}"


def test_markdown_rendering_of_a_small_table():
    table = pd.DataFrame([
        {"claim": "c1", "value": 0.000123456, "verdict": "reproduced", "figure": "figures/c1.png", "provenance": ""},
        {"claim": "c2", "value": 2.0, "verdict": "not | reproduced", "figure": float("nan"), "provenance": "p/c2.json"},
    ])
    assert claims.to_markdown(table) == (
        "# Claims\n\n"
        "| claim | value | verdict | figure | provenance |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| c1 | 0.000123 | reproduced | [c1.png](figures/c1.png) |  |\n"
        "| c2 | 2 | not \\| reproduced |  | [c2.json](p/c2.json) |\n"
    )


def test_an_unreadable_metrics_record_is_named_with_the_fix(tmp_path, monkeypatch):
    # chmod cannot deny root (the CI user), so the denial is simulated where claims opens the file.
    from memorization.errors import ResultsError

    path = tmp_path / "metrics.json"
    path.write_text("{}")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(claims, "open", denied, raising=False)
    with pytest.raises(ResultsError) as error:
        claims.read_record(path)
    assert str(error.value) == f"cannot read metrics file {path}: permission denied; make it readable (chmod u+r)"
