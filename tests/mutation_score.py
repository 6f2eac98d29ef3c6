"""Mutation score per module from a finished `mutmut run` (``make mutation``).

Reads mutmut's result files (``mutants/**/*.py.meta``) and prints, per mutated module, how many
mutants the selected tests killed out of all mutants, then lists each mutant that survived (or
that no selected test reached) with its diff. Mutants of the functions in ``NEEDS_KERAS`` are
counted apart: they run only under Keras, which the quick mutation selection leaves out (the
default suite tests them; see README, Tests), and so are the experiments' functions that no selected
test reaches (their train and measure steps), which are listed by name.

Usage: python tests/mutation_score.py [--diffs] [--minimum PERCENT]
Exits 1 when the total score is below ``--minimum``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

MUTANTS = Path("mutants")
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


def collect(root: Path = MUTANTS) -> dict[str, Counter]:
    results: dict[str, list[tuple[str, str]]] = {}
    for meta in sorted(root.rglob("*.py.meta")):
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        for mutant, code in codes.items():
            module, function = function_of(mutant)
            results.setdefault(module, []).append((mutant, function, status(code)))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--diffs", action="store_true", help="print the diff of every surviving mutant")
    parser.add_argument("--minimum", type=float, default=0.0, help="fail below this total score (percent)")
    arguments = parser.parse_args(argv)
    if not MUTANTS.is_dir():
        print("error: no mutants/ folder here; run `mutmut run` (make mutation) first", file=sys.stderr)
        return 1
    results = collect()
    killed_total = counted_total = 0
    survivors, keras_only, unreached = [], Counter(), {}
    print(f"{'module':45s} {'killed':>7s} {'total':>6s} {'score':>7s}   (Keras-only mutants, not counted)")
    for module, mutants in sorted(results.items()):
        left_out = set(NEEDS_KERAS.get(module, set()))
        if module.startswith(REACHED_ONLY):
            reached = {f for _, f, s in mutants if s != "no tests"}
            unreached[module] = sorted({f for _, f, _ in mutants} - reached)
            left_out |= set(unreached[module])
        counted = [(m, f, s) for m, f, s in mutants if f not in left_out]
        keras_only[module] = len(mutants) - len(counted)
        killed = sum(s == "killed" for _, _, s in counted)
        killed_total += killed
        counted_total += len(counted)
        survivors += [(m, s) for m, _, s in counted if s != "killed"]
        if counted:
            print(f"{module:45s} {killed:7d} {len(counted):6d} {100 * killed / len(counted):6.1f}%   "
                  f"({keras_only[module]})")
    score = 100 * killed_total / counted_total if counted_total else float("nan")
    print(f"{'total':45s} {killed_total:7d} {counted_total:6d} {score:6.1f}%   ({sum(keras_only.values())})")
    for module, functions in sorted(unreached.items()):
        if functions:
            print(f"not reached without Keras, not counted: {module}: {', '.join(functions)}")
    print(f"\n{len(survivors)} mutants not killed:")
    for mutant, state in survivors:
        print(f"  {state:10s} {mutant}")
        if arguments.diffs:
            shown = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], capture_output=True, text=True)
            print("    " + shown.stdout.strip().replace("\n", "\n    "))
    return 0 if score >= arguments.minimum else 1


if __name__ == "__main__":
    sys.exit(main())
