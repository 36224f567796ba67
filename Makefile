# Two commands set everything up on a fresh machine:  make demo  /  make test
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
# A dropped connection must not fail a fresh set-up: pip retries a failed request and resumes a cut
# download (--resume-retries needs the upgraded pip), and each install is tried three times.
retry = for try in 1 2 3; do $(1) && break; [ $$try = 3 ] && exit 1; \
	echo "install failed ($$try/3); retrying in 15 s" >&2; sleep 15; done
PIP := $(PY) -m pip install --quiet --retries 10

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(call retry,$(PIP) --upgrade pip)
	$(call retry,$(PIP) --resume-retries 30 torch==2.13.0)   # the CPU wheel; before sentence-transformers
	$(call retry,$(PIP) --resume-retries 30 -e '.[test]')
	touch $@

.PHONY: install demo test lint
install: $(VENV)/.installed

demo: $(VENV)/.installed
	HF_HUB_OFFLINE=1 $(VENV)/bin/perkmatch demo

test: $(VENV)/.installed
	$(VENV)/bin/ruff check matcher catalog tests scripts
	$(VENV)/bin/mypy
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check matcher catalog tests scripts
	$(VENV)/bin/mypy
