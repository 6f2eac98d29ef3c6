# Two commands set everything up on a fresh machine (see README.md):
#   make run    bootstrap .venv if missing, then build every figure and table (snakemake --cores 8 all)
#   make test   bootstrap .venv if missing, then run the test suite
#   make coverage / make mutation   line coverage of the default suite; mutation score of the claim logic
# Options: CONFIG=config/quick.yaml  CORES=8  MIRROR=../shared/data  SNAKEMAKE_ARGS=...  PYTEST_ARGS=...

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
CORES ?= 8
CONFIG ?= config/config.yaml
MIRROR ?= $(MEMORIZATION_DATA_MIRROR)
SNAKEMAKE_ARGS ?=
PYTEST_ARGS ?=
STAMP := $(VENV)/.installed

.PHONY: run test coverage mutation install lint lock clean-venv

run: $(STAMP)
	$(VENV)/bin/snakemake --cores $(CORES) all --configfile $(CONFIG) \
		$(if $(MIRROR),--config data_mirror=$(abspath $(MIRROR))) $(SNAKEMAKE_ARGS)

test: $(STAMP)
	$(if $(MIRROR),MEMORIZATION_DATA_MIRROR=$(abspath $(MIRROR))) $(VENV)/bin/python -m pytest $(PYTEST_ARGS)

# Line coverage of src/memorization from the default suite, the code the workflow tests run in
# Snakemake's subprocesses included (pyproject.toml, [tool.coverage]); the HTML report is htmlcov/.
coverage: $(STAMP)
	rm -f .coverage .coverage.*
	$(if $(MIRROR),MEMORIZATION_DATA_MIRROR=$(abspath $(MIRROR))) $(VENV)/bin/python -m pytest --cov \
		--cov-report=term-missing:skip-covered --cov-report=html $(PYTEST_ARGS)

# Mutation testing of claims.py, analysis/ and experiments/ against the quick unit tests
# (pyproject.toml, [tool.mutmut]); prints killed / total per module, the survivors reviewed as
# harmless (tests/data/mutation_survivors.tsv) and every other survivor with its change, and fails
# below MUTATION_MINIMUM percent. A fresh run each time (mutants/ is rebuilt): about 15 minutes on 2 cores.
MUTATION_CHILDREN ?= 2
MUTATION_MINIMUM ?= 85
mutation: $(STAMP)
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(MUTATION_CHILDREN) > /dev/null
	$(VENV)/bin/python tests/mutation_score.py --minimum $(MUTATION_MINIMUM)

install: $(STAMP)

# Reinstalls whenever a pin file changes.
$(STAMP): requirements.txt requirements-dev.txt constraints.txt pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check pip==25.3
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check \
		-c constraints.txt -r requirements-dev.txt -e .
	touch $@

# snakemake --lint and snakefmt, with the one accepted lint (no per-rule conda environment; see README).
lint: $(STAMP)
	$(VENV)/bin/python -m pytest -q -p no:cacheprovider tests/workflow/test_workflow.py -k lint

# Regenerates the full transitive pin list from the current environment.
lock:
	$(VENV)/bin/python -m pip freeze --exclude-editable --exclude pip | grep -v '^-e ' > constraints.txt

clean-venv:
	rm -rf $(VENV)
