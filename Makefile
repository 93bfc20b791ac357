# Two commands do all the set-up on a fresh machine:
#   make demo   extract features for the demo domains, execute notebooks 01, 02, 04, 06 into build/
#   make test   run the test suite (unit tests, real-data tests, notebooks at smoke size)
# Each creates .venv with everything it needs on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# 03_train and 05_f0_ablation need hours of training on a CPU: run them with papermill on a trained model
NOTEBOOKS := notebooks/01_preprocess.ipynb notebooks/02_vocoder_comparison.ipynb notebooks/04_evaluate.ipynb \
             notebooks/06_listening_test.ipynb

.PHONY: demo test test-fast bench install clean-build strip

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	$(PY) -m pytest -n 2 --durations=15 tests notebooks --nbmake

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow"

demo: $(STAMP)
	$(VENV)/bin/emocore-extract tess:OAF:neutral tess:OAF:angry tess:OAF:happy tess:OAF:sad
	mkdir -p build
	for nb in $(NOTEBOOKS); do \
	  $(VENV)/bin/papermill $$nb build/$$(basename $$nb) --cwd notebooks --progress-bar || exit 1; \
	done
	@echo
	@echo "Features and statistics: data/processed/   Figures: figures/   Executed notebooks: build/"

bench: $(STAMP)
	$(VENV)/bin/emocore-bench extraction

strip: $(STAMP)
	$(VENV)/bin/nbstripout --keep-id notebooks/*.ipynb
