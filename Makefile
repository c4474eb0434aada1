# mupvpp - the two commands a new user runs are `make run` and `make test`.
# Each installs what it needs: a venv with the package (its C core is
# compiled by the package build through cffi), the TRex client in its own
# venv (.venv-trex: its bundled scapy must not meet ours), and Debian
# packages where a target needs them (valgrind, clang for fuzzing).

PYTHON     ?= python3.11
VENV       ?= .venv
TREX_VENV  ?= .venv-trex
PY         := $(VENV)/bin/python
MUPVPP     := $(VENV)/bin/mupvpp
RESULTS    ?= results
CORE       := vpp_plugins/srv6_mup/core
CORE_SRC   := $(wildcard $(CORE)/*.c $(CORE)/*.h) $(wildcard mupvpp/engine/*.c mupvpp/engine/*.h)
VPP_PREFIX ?= /usr
APT_GET    := DEBIAN_FRONTEND=noninteractive apt-get -y -q

.PHONY: all venv venv-trex engine run test test-asan lint fuzz bench bench-core \
        bench-control bench-vpp ci-gate ci-baseline plugin clean help

all: engine

help:
	@echo "make run          configure the embedded engine from examples/lab.yaml, push"
	@echo "                  traffic through every behaviour + a handover, print/save results"
	@echo "make test         unit, vector, CLI, profile tests + the CI regression gate"
	@echo "make test-asan    the C core's tests under AddressSanitizer + UBSan"
	@echo "make bench-core   cycles and instructions per packet per behaviour"
	@echo "make bench        mupvpp bench on examples/lab.yaml (alias of run)"
	@echo "make bench-control  session installs per second (VPP_PREFIX=...: also via papi)"
	@echo "make fuzz         libFuzzer over every parser entry (FUZZ_RUNS=10000000)"
	@echo "make plugin VPP_PREFIX=/opt/vpp   build the srv6_mup VPP plugin"
	@echo "make ci-baseline  refresh ci/baseline.json on purpose"

$(VENV)/.stamp: pyproject.toml setup.py
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip setuptools wheel cffi
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.stamp

# The extension is rebuilt whenever a C source changes.
$(VENV)/.engine: $(VENV)/.stamp $(CORE_SRC) mupvpp/engine/build.py
	cd . && $(PY) -c "import sys; sys.path.insert(0, 'mupvpp/engine'); import runpy; runpy.run_path('mupvpp/engine/build.py', run_name='__main__')"
	touch $@

engine: $(VENV)/.engine

$(TREX_VENV)/.stamp:
	$(PYTHON) -m venv $(TREX_VENV)
	$(TREX_VENV)/bin/pip install -q lbr-trex-client
	touch $@

venv-trex: $(TREX_VENV)/.stamp

/usr/bin/valgrind:
	$(APT_GET) update -q >/dev/null && $(APT_GET) install valgrind >/dev/null

run: engine venv-trex
	$(MUPVPP) bench examples/lab.yaml --out $(RESULTS)

bench: run

test: engine venv-trex /usr/bin/valgrind
	$(PY) -m ci.gate
	$(PY) -m pytest

ci-gate: engine /usr/bin/valgrind
	$(PY) -m ci.gate

ci-baseline: engine /usr/bin/valgrind
	$(PY) -m ci.gate --update

lint: venv
	$(VENV)/bin/ruff check mupvpp tests ci
	$(VENV)/bin/ruff format --check mupvpp tests ci
	@if command -v clang-format >/dev/null; then \
	  clang-format --dry-run -Werror $(CORE)/*.[ch] vpp_plugins/srv6_mup/*.[ch] mupvpp/engine/*.[ch] tests/c/*.c; \
	else echo "clang-format not installed: C formatting not checked"; fi

bench-core: engine /usr/bin/valgrind
	$(PY) -m mupvpp.bench.core

# with VPP_PREFIX=... (and `make plugin` done) also through vpp-papi to a live VPP
bench-control: engine
	$(PY) -m mupvpp.bench.control $(if $(wildcard $(VPP_PREFIX)/bin/vpp),--vpp-prefix $(VPP_PREFIX))

test-asan: venv
	$(MAKE) -C tests/c asan

fuzz:
	$(MAKE) -C tests/c fuzz FUZZ_RUNS=$(or $(FUZZ_RUNS),10000000)

plugin:
	cmake -S vpp_plugins -B build/plugin -DVPP_PREFIX=$(VPP_PREFIX) -DCMAKE_BUILD_TYPE=Release
	cmake --build build/plugin -j2

bench-vpp: plugin engine
	$(PY) -m mupvpp.bench.vpp --vpp-prefix $(VPP_PREFIX)

clean:
	rm -rf build $(RESULTS) mupvpp/_engine.* $(VENV)/.engine
