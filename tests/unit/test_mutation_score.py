"""tests/mutation_score.py on a hand-built mutmut result: scores, changes read from the mutated
source, survivors matched to reviewed rows by their change, open and stale rows reported."""

import json
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import mutation_score  # noqa: E402

SOURCE = textwrap.dedent('''
    def x_half__mutmut_orig(value):
        """Half."""
        return value / 2

    def x_half__mutmut_1(value):
        """Half."""
        return value * 2

    def x_half__mutmut_2(value):
        """Half."""
        return value / 3

    def x_half__mutmut_3(value):
        """Half."""
        return value / 2.0
''')


@pytest.fixture
def mutants(tmp_path, monkeypatch):
    root = tmp_path / "mutants"
    module = root / "src" / "memorization" / "toy.py"
    module.parent.mkdir(parents=True)
    module.write_text(SOURCE)
    codes = {"memorization.toy.x_half__mutmut_1": 1, "memorization.toy.x_half__mutmut_2": 0,
             "memorization.toy.x_half__mutmut_3": 0}
    (module.parent / "toy.py.meta").write_text(json.dumps({"exit_code_by_key": codes}))
    monkeypatch.chdir(tmp_path)
    mutation_score._functions.cache_clear()
    return root


def _reviewed(path, rows):
    path.write_text("# comment\n" + "\n".join("\t".join(row) for row in
                                              [mutation_score.REVIEWED_COLUMNS, *rows]) + "\n")


def test_the_change_of_a_mutant_is_read_from_the_mutated_source(mutants):
    assert mutation_score.change_of("memorization.toy.x_half__mutmut_2", mutants) == ("return value / 2",
                                                                                      "return value / 3")
    assert mutation_score.function_of("memorization.toy.x_half__mutmut_2") == ("memorization.toy", "half")


def test_reviewed_survivors_are_counted_apart_and_the_rest_listed(mutants, tmp_path, monkeypatch, capsys):
    reviewed = tmp_path / "reviewed.tsv"
    _reviewed(reviewed, [["memorization.toy.half", "return value / 2", "return value / 2.0", "equivalent: true division"],
                         ["memorization.toy.half", "return value / 2", "return value // 2", "equivalent: stale"]])
    monkeypatch.setattr(mutation_score, "REVIEWED", reviewed)
    open_rows = tmp_path / "open.tsv"
    assert mutation_score.main(["--minimum", "30", "--unreviewed-tsv", str(open_rows)]) == 0
    printed = capsys.readouterr().out
    toy = next(line for line in printed.splitlines() if line.startswith("memorization.toy"))
    assert toy.split()[1:6] == ["1", "3", "33.3%", "1", "1"]  # killed, total, score, reviewed, open
    assert "1 mutants not killed and not reviewed" in printed and "x_half__mutmut_2" in printed
    assert "1 reviewed entries match no surviving mutant" in printed and "return value // 2" in printed
    assert open_rows.read_text() == "memorization.toy.half\treturn value / 2\treturn value / 3\t\n"
    assert mutation_score.main(["--minimum", "40"]) == 1  # 33.3% is below the minimum


def test_a_reviewed_row_without_a_reason_is_refused(mutants, tmp_path, monkeypatch):
    reviewed = tmp_path / "reviewed.tsv"
    _reviewed(reviewed, [["memorization.toy.half", "return value / 2", "return value / 2.0", " "]])
    monkeypatch.setattr(mutation_score, "REVIEWED", reviewed)
    with pytest.raises(SystemExit, match="a reason in every row"):
        mutation_score.main([])


def test_the_committed_review_file_is_well_formed():
    rows = mutation_score.read_reviewed()
    assert len(rows) > 100
    kinds = {reason.split(":")[0] for reason in rows.values()}
    assert kinds <= {"equivalent", "equivalent in distribution", "unreachable", "log", "text", "message", "boundary"}
