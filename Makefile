# biaskit: the README's commands. Each builds its own virtual environment from nothing.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
PY := $(VENV)/bin/python
STAMP := $(VENV)/.biaskit-installed

.PHONY: demo test bench lint install clean

# torch goes first, pinned, so that nothing pulls a different (CUDA) build.
# GPU users: see README ("Installing for a GPU").
$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==$(TORCH_VERSION)
	$(PY) -m pip install --quiet -e ".[test,dev]"
	touch $(STAMP)

install: $(STAMP)

# The quickstart recipe on the lab model (built and cached on first use): probe, trace,
# locate, evaluate, MEMIT equalize, verify, evaluate again, report.
demo: $(STAMP)
	$(PY) -m biaskit run recipes/quickstart.yaml
	@echo "demo report: the newest runs/quickstart-*/report/report.md (and report.html)"

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest

bench: $(STAMP)
	$(PY) benchmarks/bench_capture.py
	$(PY) benchmarks/bench_capture_memory.py
	$(PY) benchmarks/bench_probes.py
	$(PY) benchmarks/bench_trace.py
	$(PY) benchmarks/bench_edit.py
	$(PY) benchmarks/bench_stats.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_lora.py
	$(PY) benchmarks/bench_embed.py
	$(PY) benchmarks/bench_generate.py

lint: $(STAMP)
	$(VENV)/bin/ruff check .

clean:
	rm -rf $(VENV) runs bench_out .pytest_cache
