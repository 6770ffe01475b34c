# Two entry points for a fresh machine: `make app` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The bundled C engine and torch both use OpenMP; one thread per query keeps latency flat on busy machines.
export OMP_NUM_THREADS ?= 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup app test lint bench clean browser

$(BIN)/rag: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	# torch first and pinned: a loose requirement would pull a multi-GB CUDA build
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[dev]'
	touch $(BIN)/rag

setup: $(BIN)/rag

app: setup
	$(BIN)/python app.py

# Browser tests drive Debian's Chromium (never `playwright install`); CJK fonts, or screenshots show boxes.
CHROMIUM_FONT := /usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc
browser:
	@if [ -x /usr/bin/chromium ] && [ -f $(CHROMIUM_FONT) ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		(apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk) >/dev/null \
		|| echo "notice: could not install chromium fonts-noto-cjk; browser tests will be skipped"; \
	else echo "notice: browser tests need /usr/bin/chromium and fonts-noto-cjk: sudo apt-get install chromium fonts-noto-cjk"; fi

test: setup browser
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check .

bench: setup
	$(BIN)/python bench/bench_embed.py
	$(BIN)/python bench/bench_search.py

clean:
	rm -rf $(VENV) index/default
