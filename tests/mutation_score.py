"""Mutation score per module from a finished `mutmut run` (``make mutation``).

Reads mutmut's result files (``mutants/**/*.py.meta``) and prints, per mutated module, how many
mutants the selected tests killed out of all mutants, and how many of the survivors are reviewed:
listed in ``tests/data/mutation_survivors.tsv`` (function, removed line, added line, why the change
is harmless), matched by their change rather than by mutmut's numbering, so an entry stays valid
while its line does. Every survivor not reviewed is printed with its change; a reviewed entry that
no longer survives (killed now, or its line changed) is reported as stale. Mutants of the
functions in ``NEEDS_KERAS`` are counted apart: they run only under Keras, which the quick mutation selection leaves out (the
default suite tests them; see README, Tests), and so are the experiments' functions that no selected
test reaches (their train and measure steps), which are listed by name.

Usage: python tests/mutation_score.py [--reviewed] [--unreviewed-tsv FILE] [--minimum PERCENT]
Exits 1 when the total score is below ``--minimum``.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import sys
from collections import Counter
from functools import lru_cache
from pathlib import Path

MUTANTS = Path("mutants")
REVIEWED = Path(__file__).resolve().parent / "data" / "mutation_survivors.tsv"
REVIEWED_COLUMNS = ["function", "removed", "added", "reason"]
LINE_BREAK = " ⏎ "  # joins the lines of a change that spans several
# mutmut's exit codes of a mutant's test run (mutmut.stats.status_by_exit_code).
KILLED_CODES = {1, 3, 37}
TIMEOUT_CODES = {-24, 24, 152, 255, 36}
NO_TESTS_CODES = {5, 33}
# Functions that call into Keras (model wrappers, autodiff): not run by the quick selection.
NEEDS_KERAS = {
    "memorization.analysis.jacobian": {"_model_dtype", "_batch_jacobian", "input_jacobians"},
    "memorization.analysis.operator": {"model_function"},
    "memorization.analysis.iteration": {"as_numpy_map"},
}
# In the experiments, every train and measure step loads or builds a Keras model (the default
# suite tests them end to end); what the Keras-free selection can reach are the summarize steps
# and their helpers. A function of these packages that no selected test reaches is therefore
# listed by name, apart from the score, instead of being declared by hand.
REACHED_ONLY = ("memorization.experiments.",)


def function_of(mutant: str) -> tuple[str, str]:
    """('memorization.claims', 'verdict') from 'memorization.claims.x_verdict__mutmut_3'
    (methods: 'xǁClassǁmethod__mutmut_1' gives 'Class.method')."""
    module, _, name = mutant.rpartition(".")
    name = name.rsplit("__mutmut_", 1)[0]
    name = name[2:] if name.startswith("x_") else name[1:].replace("ǁ", ".").strip(".")
    return module, name


def status(code) -> str:
    if code in KILLED_CODES or code in TIMEOUT_CODES:
        return "killed"  # a mutant that hangs the tests is caught as well
    if code in NO_TESTS_CODES:
        return "no tests"
    if code is None:
        return "not checked"
    return "survived" if code == 0 else "suspicious"


@lru_cache(maxsize=None)
def _functions(source_file: Path) -> dict[str, str]:
    """Source text of every function (methods included) of a mutated file, by name."""
    text = source_file.read_text()
    lines = text.splitlines()
    return {node.name: "\n".join(lines[node.lineno - 1:node.end_lineno]) for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))}


def change_of(mutant: str, root: Path = MUTANTS) -> tuple[str, str]:
    """(removed, added): the lines a mutant changes, stripped of indentation; several lines are
    joined with LINE_BREAK. Read from mutmut's copy of the source, where every mutant is a
    function ``<name>__mutmut_<k>`` beside the original ``<name>__mutmut_orig``."""
    module, _, name = mutant.rpartition(".")
    functions = _functions(root / "src" / Path(*module.split(".")).with_suffix(".py"))
    original = functions[name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"].splitlines()[1:]
    changed = functions[name].splitlines()[1:]  # past the def line, which names the mutant
    removed, added = [], []
    for line in difflib.ndiff(original, changed):
        if line.startswith("- "):
            removed.append(line[2:].strip())
        elif line.startswith("+ "):
            added.append(line[2:].strip())
    return LINE_BREAK.join(removed), LINE_BREAK.join(added)


def read_reviewed(path: Path | None = None) -> dict[tuple[str, str, str], str]:
    """{(module.function, removed, added): reason} of the survivors reviewed as harmless."""
    path = REVIEWED if path is None else path
    if not path.is_file():
        return {}
    # Plain tab-separated lines, no quoting: code lines hold no tabs, and the file stays readable.
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]
    header, rows = lines[0].split("\t"), [line.split("\t") for line in lines[1:]]
    if header != REVIEWED_COLUMNS or any(len(row) != len(header) or not row[3].strip() for row in rows):
        raise SystemExit(f"error: {path} must have the columns {REVIEWED_COLUMNS}, a reason in every row")
    return {(function, removed, added): reason for function, removed, added, reason in rows}


def collect(root: Path = MUTANTS) -> dict[str, list[tuple[str, str, str]]]:
    results: dict[str, list[tuple[str, str]]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for mutant, code in codes.items():
            module, function = function_of(mutant)
            results.setdefault(module, []).append((mutant, function, status(code)))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reviewed", action="store_true", help="also list the reviewed survivors with their reasons")
    parser.add_argument("--unreviewed-tsv", type=Path,
                        help="write the survivors not reviewed as rows of mutation_survivors.tsv, reason empty")
    parser.add_argument("--minimum", type=float, default=0.0, help="fail below this total score (percent)")
    arguments = parser.parse_args(argv)
    if not MUTANTS.is_dir():
        print("error: no mutants/ folder here; run `mutmut run` (make mutation) first", file=sys.stderr)
        return 1
    results = collect()
    reviewed = read_reviewed()
    matched: set[tuple[str, str, str]] = set()
    killed_total = counted_total = reviewed_total = 0
    unreviewed, harmless, keras_only, unreached = [], [], Counter(), {}
    print(f"{'module':45s} {'killed':>7s} {'total':>6s} {'score':>7s} {'reviewed':>9s} {'open':>5s}"
          "   (Keras-only mutants, not counted)")
    for module, mutants in sorted(results.items()):
        left_out = set(NEEDS_KERAS.get(module, set()))
        if module.startswith(REACHED_ONLY):
            reached = {f for _, f, s in mutants if s != "no tests"}
            unreached[module] = sorted({f for _, f, _ in mutants} - reached)
            left_out |= set(unreached[module])
        counted = [(m, f, s) for m, f, s in mutants if f not in left_out]
        keras_only[module] = len(mutants) - len(counted)
        killed = sum(s == "killed" for _, _, s in counted)
        module_reviewed = 0
        for mutant, function, state in counted:
            if state == "killed":
                continue
            key = (f"{module}.{function}", *change_of(mutant))
            if key in reviewed and state == "survived":
                matched.add(key)
                module_reviewed += 1
                harmless.append((mutant, key, reviewed[key]))
            else:
                unreviewed.append((mutant, state, key))
        killed_total += killed
        counted_total += len(counted)
        reviewed_total += module_reviewed
        if counted:
            open_count = len(counted) - killed - module_reviewed
            print(f"{module:45s} {killed:7d} {len(counted):6d} {100 * killed / len(counted):6.1f}% "
                  f"{module_reviewed:9d} {open_count:5d}   ({keras_only[module]})")
    score = 100 * killed_total / counted_total if counted_total else float("nan")
    print(f"{'total':45s} {killed_total:7d} {counted_total:6d} {score:6.1f}% {reviewed_total:9d} "
          f"{len(unreviewed):5d}   ({sum(keras_only.values())})")
    for module, functions in sorted(unreached.items()):
        if functions:
            print(f"not reached without Keras, not counted: {module}: {', '.join(functions)}")
    reasons = Counter(reason.split(":")[0] for _, _, reason in harmless)
    print(f"\n{reviewed_total} survivors reviewed as harmless ({REVIEWED.name}), by reason: "
          + ", ".join(f"{reason} {count}" for reason, count in reasons.most_common()))
    if arguments.reviewed:
        for mutant, (_, removed, added), reason in harmless:
            print(f"  {mutant}\n    - {removed}\n    + {added}\n    {reason}")
    stale = sorted(set(reviewed) - matched)
    if stale:
        print(f"{len(stale)} reviewed entries match no surviving mutant (killed now, or the line changed): "
              "remove them from the file")
        for function, removed, added in stale:
            print(f"  stale  {function}: - {removed} / + {added}")
    print(f"\n{len(unreviewed)} mutants not killed and not reviewed:")
    for mutant, state, (_, removed, added) in unreviewed:
        print(f"  {state:10s} {mutant}\n    - {removed}\n    + {added}")
    if arguments.unreviewed_tsv:
        arguments.unreviewed_tsv.write_text("".join("\t".join([*key, ""]) + "\n" for _, _, key in unreviewed),
                                            encoding="utf-8")
    return 0 if score >= arguments.minimum else 1


if __name__ == "__main__":
    sys.exit(main())
