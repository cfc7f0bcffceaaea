# Two set-up commands work on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO := demo

.PHONY: demo test venv clean system-deps templates

venv: $(STAMP)

# setup.cfg declares ranges; CI and the demo pin torch (a CPU build lies on disk), deepspeed
# and jinja2 (the card templates ship compiled for it) in one pip command, for reproducible runs.
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check torch==2.13.0 deepspeed==0.19.8 jinja2==3.1.6 \
		-e '.[train,cards,export,registry,eval,test]'
	touch $(STAMP)

# the registry's tests start their own PostgreSQL and drive Chromium: Debian packages, installed
# (as root, as CI runs) only where missing
system-deps:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! test -x /usr/bin/chromium \
		|| ! test -x /usr/bin/chromedriver; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
			postgresql chromium chromium-driver; fi

demo: $(STAMP)
	DS_ACCELERATOR=cpu HF_HUB_OFFLINE=1 $(PY) -m llm360.demo --out $(DEMO)

test: system-deps $(STAMP)
	$(VENV)/bin/ruff check llm360 tests benchmarks
	$(VENV)/bin/mypy --cache-dir $(VENV)/.mypy_cache
	DS_ACCELERATOR=cpu HF_HUB_OFFLINE=1 $(PY) -m pytest -q -p no:cacheprovider tests

# after editing a card template (llm360/templates/*.md.j2): its compiled module, which the
# renderer uses only while it matches the template (a test says when it does not)
templates: $(STAMP)
	$(PY) -c "from llm360.registry.cards._render import write_compiled; write_compiled()"

clean:
	rm -rf $(VENV) $(DEMO)
