# Two set-up commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := demo

.PHONY: demo test venv clean

venv: $(STAMP)

# setup.cfg declares ranges; CI and the demo pin torch (a CPU build lies on disk) and deepspeed
# in the same pip command, for reproducible runs.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0 deepspeed==0.19.8 \
		-e '.[train,cards,export,test]'
	touch $(STAMP)

demo: $(STAMP)
	DS_ACCELERATOR=cpu HF_HUB_OFFLINE=1 $(PY) -m llm360.demo --out $(DEMO)

test: $(STAMP)
	DS_ACCELERATOR=cpu HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider tests

clean:
	rm -rf $(VENV) $(DEMO)
