# Two commands do all the set-up on a fresh machine:
#   make demo   with the pretrained models: evaluate them on held-out words, execute notebooks 01, 02, 04, 05
#               (the per-pair models' streams, then the multi-speaker model's), 06 into build/, write figures/results.csv, evaluate the multi-speaker model on unseen actors
#               (figures/results_multispeaker.csv) (emocore/demo.py; 03_train is the one that trains)
#   make test   run the test suite (unit tests, real-data tests, notebooks at smoke size)
# Each creates .venv with everything it needs on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast bench install clean-build strip

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	rm -rf build/nbmake  # nbmake's smoke runs write here; a fresh folder makes a second run pass too
	$(PY) -m pytest -n 2 --durations=15 tests notebooks --nbmake

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow"

# make demo FILES="my.wav other.wav" also converts your own files with every pretrained model
demo: $(STAMP)
	$(PY) -m emocore.demo $(FILES)

bench: $(STAMP)
	$(VENV)/bin/emocore-bench extraction

strip: $(STAMP)
	$(VENV)/bin/nbstripout --keep-id notebooks/*.ipynb
