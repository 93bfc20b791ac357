# These commands do all the set-up on a fresh machine:
#   make demo     hear it in a minute: espeak-ng examples (and held-out corpus audio when present) and FILES converted
#                 by the default pretrained model to every emotion; build/demo/index.html plays them (emocore/demo.py)
#   make results  the full evaluation behind the README (73 minutes on 2 cores from a fresh clone, needs the corpora): notebooks 01, 02, 04,
#                 05 (the per-pair models' streams, then the multi-speaker model's), 06 into build/, figures/results.csv,
#                 the multi-speaker model on unseen actors (figures/results_multispeaker.csv) (emocore/results.py)
#   make listen   serve notebook 06's listening test to listeners as a web page (Voila; emocore-listen ARGS=...)
#   make test     run the test suite (unit tests, real-data tests, notebooks at smoke size, the browser tests)
# Each creates .venv with everything it needs on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo results listen test test-fast bench install clean-build strip

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip "setuptools<81" wheel
	$(PY) -m pip install -q -e ".[dev]"
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	rm -rf build/nbmake  # nbmake's smoke runs write here; a fresh folder makes a second run pass too
	$(PY) -m pytest -n 2 -rs --durations=15 tests notebooks --nbmake  # -rs: why any test was skipped

test-fast: $(STAMP)
	$(PY) -m pytest -n 2 -m "not slow"

# make demo FILES="my.wav other.wav" also converts your own files
demo: $(STAMP)
	$(PY) -m emocore.demo $(FILES)

results: $(STAMP)
	$(PY) -m emocore.results

# make listen ARGS="--systems emostargan f0-only --seed 1" (see .venv/bin/emocore-listen --help)
listen: $(STAMP)
	$(VENV)/bin/emocore-listen $(ARGS)

bench: $(STAMP)
	$(VENV)/bin/emocore-bench extraction

strip: $(STAMP)
	$(VENV)/bin/nbstripout --keep-id notebooks/*.ipynb
