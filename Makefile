# Deep-learning course: environment, JupyterLab, checks.
#
#   make lab              set up .venv (first time only) and open JupyterLab on the start page
#   make test             set up, then lint + exercise sync check + unit tests + notebooks
#   make exercises        regenerate exercises/ from solutions/ (never overwrites your edits)
#   make exercises-force  same, but regenerate edited exercises too (your copy is kept as .bak-*)
#   make execute          re-run notebooks/ and solutions/ in place (after editing), then exercises
#   make grade SUBMISSIONS=dir [ASSIGNMENT=ch01_perceptron] [OUT=grades.csv]  autograde notebooks
#   make sandbox          install bubblewrap, the sandbox each graded submission runs in
#   make browser-test     run every lecture notebook in JupyterLab in headless Chromium
#   make site [SOLUTIONS=1]  the course as a static website in build/site (offline; npm for MathJax)
#   make site-test        build the site, then open every page in headless Chromium (+ axe-core)
#   make class-test [CLASS_SIZE=30]  a class on JupyterHub on loopback: log in, pull, run, grade
#   make portability [ISA="SSE4_2 AVX"]  notebooks under strict nbval at each XLA:CPU level
#   make bench            benchmark suite vs NumPy, optax, Flax, PyTorch -> benchmarks/RESULTS.md
#   make lock             re-resolve requirements.in into requirements.txt + environment.yml
#   make clean            remove caches; make distclean also removes .venv and .venv-bench
#
# setup, lab and test are scripts/course.py (standard library only), which also works without
# make (Windows: py -3.11 scripts\course.py lab). The environment is .venv, filled from
# requirements.txt; a stamp in it makes an unchanged setup a no-op.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.NOTPARALLEL:
.DEFAULT_GOAL := help

# The Python that creates .venv: python3.11 where there is one, else python3 (setup says so if
# that is not 3.11).
PYTHON ?= $(shell command -v python3.11 >/dev/null 2>&1 && echo python3.11 || echo python3)
COURSE := $(PYTHON) scripts/course.py
VENV := .venv
PY := $(VENV)/bin/python
KERNEL_NAME := dl-course
# Extra arguments: make test PYTEST_ARGS="-k ch01"; make lab LAB_ARGS="--port 8899".
PYTEST_ARGS ?=
LAB_ARGS ?=
# The browser test runs two notebooks at a time (two JupyterLab servers, two Chromiums; README
# "Maintainers" gives the times). BROWSER_JOBS=1 runs them one by one and prints as it goes.
BROWSER_JOBS ?= 2
# Key presses timed per widget control for build/widget_latency.md (measured, not asserted);
# .ci/run uses 1 (every control still moved once in the browser), 0 skips the table.
BROWSER_PRESSES ?= 3

.PHONY: help setup venv lab test lint check-exercises pytest execute exercises exercises-force grade lock \
	browser-test chromium site site-js site-test class-js class-test bench portability sandbox \
	clean distclean

help:
	@sed -n '3,17p' Makefile | sed 's/^# \{0,1\}//'

# ---------------------------------------------------------------------------- environment
venv: setup

# Create or update .venv: a no-op while requirements.txt and pyproject.toml are unchanged.
setup:
	@$(COURSE) setup

# ---------------------------------------------------------------------------- JupyterLab
# Set up, refresh the personal working copy work/, then JupyterLab on its start page.
lab:
	@$(COURSE) lab $(if $(LAB_ARGS),-- $(LAB_ARGS))

# ---------------------------------------------------------------------------- checks
# make test: set up, then all three check steps, which run even if one fails; the exit status
# is non-zero if any did. Each step alone: make lint, make check-exercises, make pytest.
test:
	@$(COURSE) test $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

lint:
	@$(COURSE) test --only lint

check-exercises:
	@$(COURSE) test --only check-exercises

pytest:
	@$(COURSE) test --only pytest $(if $(PYTEST_ARGS),-- $(PYTEST_ARGS))

# ---------------------------------------------------------------------------- browser
# The course as a student sees it: JupyterLab (from .venv, on a free loopback port) in headless
# Chromium driven by Playwright; every lecture notebook is run from the Run menu and checked
# (e2e/test_jupyterlab.py). Needs Debian's chromium: installed here with apt-get when missing and
# we are root (or have password-less sudo); otherwise a message says how. CHROMIUM=/path overrides.
# Screenshots: build/screenshots/ (not committed).
# BROWSER_ISA=SSE4_2+NUDGED runs the kernels at that level of make portability (CI does, after
# a portability run that filled the kernel's compilation cache at the same level).
# BROWSER_SCOPE=chapters (CI) runs the first lecture of each chapter and those with a kernel check.
BROWSER_ARGS ?=
BROWSER_ISA ?=
BROWSER_SCOPE ?= all
browser-test: setup chromium
	@echo "== browser-test: $(if $(filter chapters,$(BROWSER_SCOPE)),each chapter's first lecture (and those with a kernel check),every lecture notebook) in JupyterLab in headless Chromium, $(BROWSER_JOBS) at a time$(if $(BROWSER_ISA), (kernels at $(BROWSER_ISA)))"
	BROWSER_PRESSES=$(BROWSER_PRESSES) BROWSER_ISA="$(BROWSER_ISA)" BROWSER_SCOPE=$(BROWSER_SCOPE) $(PY) -m pytest e2e/test_jupyterlab.py -p no:cacheprovider -v $(if $(filter 1,$(BROWSER_JOBS)),-p no:xdist -s,-n $(BROWSER_JOBS) --dist load) $(BROWSER_ARGS)
	@echo "== browser-test: screenshots in build/screenshots/"

chromium:
	@if [ -n "$${CHROMIUM:-}" ] || command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then \
	  :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "== chromium: installing Debian's chromium (apt-get install chromium)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  echo "== chromium: installing Debian's chromium (sudo apt-get install chromium)"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
	  echo "error: the browser tests need Chromium, and it is not installed. On Debian or Ubuntu:" >&2; \
	  echo "         sudo apt-get install chromium" >&2; \
	  echo "       or point CHROMIUM at a Chromium or Chrome binary: make browser-test CHROMIUM=/path" >&2; \
	  exit 1; \
	fi

# ---------------------------------------------------------------------------- website
# The course as a static website (scripts/website.py): the start page, every lecture and the
# exercises as pages with their notebooks to download; SOLUTIONS=1 adds the solutions (keep such a
# build private: instructors grade those exercises). Built offline from the committed notebooks
# into SITE_DIR; the page's JavaScript (MathJax; axe-core for the test) comes from the npm registry,
# pinned in site/package-lock.json, and is served with the site. Preview:
#   .venv/bin/python -m http.server -d build/site 8000    (then open http://127.0.0.1:8000)
# Publish: copy SITE_DIR to any static host (README "The course as a website").
SOLUTIONS ?=
SITE_DIR ?= build/site
SITE_JOBS ?= 2
site: setup site-js
	$(PY) scripts/website.py --out $(SITE_DIR) $(if $(filter-out 0,$(SOLUTIONS)),--solutions)

# npm ci installs exactly site/package-lock.json into site/node_modules (about a second).
site-js:
	@if ! command -v npm >/dev/null 2>&1; then \
	  if command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	    echo "== site: installing Debian's nodejs and npm"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else \
	    echo "error: make site needs Node.js and npm (Debian or Ubuntu: sudo apt-get install nodejs npm)" >&2; \
	    exit 1; \
	  fi; \
	fi
	@echo "== site: MathJax and axe-core from site/package-lock.json (npm ci)"
	@cd site && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

# Serve SITE_DIR on loopback and open every page in headless Chromium, everything outside the
# site blocked (e2e/test_site.py): loads, math, images and alt text, links, headings, axe-core.
# Screenshots: build/screenshots/site/; axe's findings: build/site_audit.md.
site-test: site chromium
	@echo "== site-test: every page of $(SITE_DIR) in headless Chromium, $(SITE_JOBS) at a time"
	SITE_DIR=$(SITE_DIR) $(PY) -m pytest e2e/test_site.py -p no:cacheprovider -q -n $(SITE_JOBS) --dist load

# ---------------------------------------------------------------------------- a class on JupyterHub
# deploy/: the single-server hub (jupyterhub_config.py), Zero to JupyterHub's values.yaml, and
# .binder/ for repo2docker; README "A class on JupyterHub". class-js installs the hub's proxy
# (configurable-http-proxy, from deploy/package-lock.json) into deploy/node_modules.
class-js:
	@if ! command -v npm >/dev/null 2>&1; then \
	  echo "error: the hub's proxy needs Node.js >= 20 and npm (Debian: apt-get install nodejs npm)" >&2; \
	  exit 1; \
	fi
	@echo "== class: configurable-http-proxy from deploy/package-lock.json (npm ci)"
	@cd deploy && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error

# The class test (e2e/test_class.py): JupyterHub on loopback with CLASS_SIZE students, each a
# system user of their own (so it runs as root, as CI does): log in, start a server, nbgitpuller,
# run an exercise set in a kernel (CLASS_ASSIGNMENT, ch08a's, the lightest), hand in; then
# course-collect and course-grade. Timings and memory: build/class_report.md. The README's sizing
# table: make class-test CLASS_SIZE=30 CLASS_ASSIGNMENT=ch01_perceptron.
CLASS_SIZE ?= 10
CLASS_ASSIGNMENT ?= ch08a_convolution
class-test: setup sandbox class-js
	@echo "== class-test: $(CLASS_SIZE) students on a JupyterHub on loopback ($(CLASS_ASSIGNMENT))"
	CLASS_SIZE=$(CLASS_SIZE) CLASS_ASSIGNMENT=$(CLASS_ASSIGNMENT) \
	  $(PY) -m pytest e2e/test_class.py -p no:cacheprovider -p no:xdist -v -s

# ---------------------------------------------------------------------------- portability
# The same results on every student's CPU: every lecture and solution notebook under strict
# nbval once per XLA:CPU instruction-set level this machine supports (SSE4_2, AVX, AVX2, AVX512;
# XLA_FLAGS=--xla_cpu_max_isa=LEVEL changes the instructions and so the float rounding), then
# once more as NUDGED (every float jax.random draws moved by 2 ulps, for the differences between
# CPUs that no cap shows), and a table notebook x level: pass, or the cells that differ.
# ISA="SSE4_2 NUDGED" runs only those; ISA="SSE4_2+NUDGED" runs both perturbations in one pass
# (what CI does). About 7 minutes a level on 2 cores; build/portability/.
# PORTABILITY_CACHE=.cache/jax keeps the compiled programs there (CI, for the browser test).
ISA ?=
PORTABILITY_CACHE ?=
portability: setup
	$(PY) scripts/portability.py $(if $(ISA),--isa $(ISA)) $(if $(PORTABILITY_CACHE),--compilation-cache $(PORTABILITY_CACHE))

# ---------------------------------------------------------------------------- benchmarks
# The peers (PyTorch, Flax) are benchmark-only: they go into .venv-bench, which sees .venv's
# packages through a .pth file, so the course's environment stays as it is.
BENCH_VENV := .venv-bench
BENCH_ARGS ?=
bench: setup
	@if [ ! -x $(BENCH_VENV)/bin/python ]; then \
	  echo "== bench: creating $(BENCH_VENV) (the course's packages + benchmarks/requirements-bench.txt)"; \
	  $(PYTHON) -m venv $(BENCH_VENV); \
	fi; \
	site=$$($(PY) -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	bsite=$$($(BENCH_VENV)/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])'); \
	echo "$$site" > "$$bsite/course-venv.pth"; \
	$(BENCH_VENV)/bin/python -m pip --disable-pip-version-check install --quiet \
	  -r benchmarks/requirements-bench.txt
	@echo "== bench: benchmarks/suite.py -> benchmarks/RESULTS.md (a few minutes)"
	$(BENCH_VENV)/bin/python benchmarks/suite.py $(BENCH_ARGS)

# ---------------------------------------------------------------------------- authoring
# After editing a lecture or solution notebook, store its outputs again (strict nbval compares
# them): `make execute` runs every notebook in notebooks/ and solutions/ in place with the
# course kernel, then regenerates exercises/; `make execute NB=notebooks/ch01_perceptron.ipynb`
# runs one.
NB ?= $(wildcard notebooks/ch*.ipynb solutions/ch*.ipynb)
execute: setup
	@for nb in $(NB); do \
	  echo "== execute: $$nb"; \
	  $(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	    --ExecutePreprocessor.kernel_name=$(KERNEL_NAME) --ExecutePreprocessor.timeout=600 \
	    --ExecutePreprocessor.record_timing=False "$$nb"; \
	done
	$(PY) -m course_lib.instructor.exercises

# ---------------------------------------------------------------------------- exercises
exercises: setup
	@echo "== exercises: generating exercises/ from solutions/"
	$(PY) -m course_lib.instructor.exercises

# ---------------------------------------------------------------------------- grading
# Autograde students' notebooks (files or folders): a CSV gradebook and feedback/ beside it.
# See README "Instructors"; `python -m course_lib.instructor.grade --help` lists every option.
SUBMISSIONS ?=
ASSIGNMENT ?=
OUT ?= grades.csv
GRADE_ARGS ?=
# Each submission's kernel runs in a bubblewrap sandbox (Linux): bwrap is installed with apt-get
# when missing and we are root or have password-less sudo; otherwise grading says once that it runs
# unsandboxed (GRADE_ARGS=--require-sandbox refuses instead). README "What protects the grades".
sandbox:
	@if command -v bwrap >/dev/null 2>&1; then \
	  :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
	  echo "== sandbox: installing bubblewrap (apt-get install bubblewrap)"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	elif command -v apt-get >/dev/null 2>&1 && sudo -n true 2>/dev/null; then \
	  echo "== sandbox: installing bubblewrap (sudo apt-get install bubblewrap)"; \
	  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; \
	else \
	  echo "note: bubblewrap (bwrap) is not installed, so submissions will run unsandboxed;" >&2; \
	  echo "      on Debian or Ubuntu: sudo apt-get install bubblewrap" >&2; \
	fi

grade: setup sandbox
	@if [ -z "$(SUBMISSIONS)" ]; then \
	  echo "usage: make grade SUBMISSIONS=<folder or notebooks> [ASSIGNMENT=ch01_perceptron] [OUT=grades.csv]" >&2; \
	  exit 2; \
	fi
	$(PY) -m course_lib.instructor.grade $(SUBMISSIONS) $(if $(ASSIGNMENT),--assignment $(ASSIGNMENT)) \
	  --out $(OUT) $(GRADE_ARGS)

exercises-force: setup
	@echo "== exercises: regenerating exercises/ from solutions/ (--force: edited copies kept as .bak-*)"
	$(PY) -m course_lib.instructor.exercises --force

# ---------------------------------------------------------------------------- lock
lock:
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	echo "== lock: installing requirements.in into a throwaway venv ($$tmp)"; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip --disable-pip-version-check install --quiet -r requirements.in; \
	echo "== lock: pip freeze -> requirements.txt and environment.yml"; \
	"$$tmp/venv/bin/python" -m pip freeze --exclude-editable > "$$tmp/freeze.txt"; \
	$(PYTHON) scripts/lock.py "$$tmp/freeze.txt"

# ---------------------------------------------------------------------------- cleaning
clean:
	@echo "== clean: removing caches (.pytest_cache, .ruff_cache, __pycache__, checkpoints, build)"
	rm -rf .pytest_cache .ruff_cache build *.egg-info
	find . -path ./$(VENV) -prune -o \( -name __pycache__ -o -name .ipynb_checkpoints \) \
	  -type d -print0 | xargs -0 rm -rf

distclean: clean
	@echo "== distclean: removing $(VENV) and $(BENCH_VENV)"
	rm -rf $(VENV) $(BENCH_VENV)
