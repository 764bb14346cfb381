# A thin layer over CMake: `make demo` and `make test` set up a fresh Debian 12 machine
# (packages, configure, Release build) and run. See README.md.

BUILD     ?= build
ASAN_BUILD?= build-asan
JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
# ccache hashes paths relative to the clone, so a fresh clone reuses an earlier clone's cache.
export CCACHE_BASEDIR ?= $(CURDIR)
CMAKE_ARGS?=
# CI (CI=true, as .ci/run is run) builds with warnings as errors.
WERROR    ?= $(if $(filter true 1,$(CI)),ON,OFF)

# Debian 12 packages. jackd2 must come in the same apt-get call as librtaudio-dev (or before it):
# installed later it pulls JACK headers that remove librtaudio-dev.
PACKAGES := cmake g++ make pkg-config ccache libboost-graph-dev libyaml-cpp-dev libsndfile1-dev \
            libxsimd-dev catch2 jackd2 libjack-jackd2-dev librtaudio-dev libebur128-dev \
            libcli11-dev nlohmann-json3-dev clang-format ffmpeg sox graphviz clang libfuzzer-14-dev \
            python3-numpy \
            liblilv-dev lilv-utils lsp-plugins-lv2 x42-plugins pulseaudio libasound2-plugins alsa-utils \
            libjs-d3 chromium zlib1g-dev \
            dpkg-dev file \
            pybind11-dev python3-dev python3-pytest python3-distributed python3-venv \
            libsoxr-dev valgrind debootstrap

.PHONY: all deps configure build demo teaching-docs test test-fast test-asan bench bench-compare bench-callgrind docs clean format format-check \
        fuzz-build fuzz fuzz-smoke python-pip-check package-clean-check

all: build

deps:
	@missing=""; for p in $(PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing:$$missing"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq && apt-get install -y -qq $(PACKAGES) >/dev/null || exit 1; \
	    dpkg-query -W -f='$${Status}' librtaudio-dev 2>/dev/null | grep -q "install ok installed" || apt-get install -y -qq librtaudio-dev >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing"; \
	    echo "run as root:  apt-get update && apt-get install -y $(PACKAGES)"; \
	    exit 1; \
	  fi; \
	fi

$(BUILD)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DSTAGEGRAPH_WERROR=$(WERROR) $(CMAKE_ARGS)

configure: deps $(BUILD)/CMakeCache.txt

build: configure
	cmake --build $(BUILD) -j$(JOBS)

demo: build
	./$(BUILD)/stagegraph demo

# Rewrites the `demo lines A-B` blocks of docs/teaching/*.md with what `stagegraph demo` prints
# (tests/host/test_teaching.cpp checks them).
teaching-docs: build
	STAGEGRAPH_UPDATE_DOCS=1 ./$(BUILD)/tests/stagegraph_tests "[teaching-docs]"

# The formatting check, the whole suite through ctest (Release), then the unit tests again under
# AddressSanitizer and UndefinedBehaviorSanitizer, then a few seconds of each fuzz target.
test: build format-check
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)
	$(MAKE) test-asan
	$(MAKE) fuzz-smoke

test-fast: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSTAGEGRAPH_SANITIZE=ON -DSTAGEGRAPH_BENCH=OFF -DSTAGEGRAPH_WERROR=$(WERROR) $(CMAKE_ARGS)
	cmake --build $(ASAN_BUILD) -j$(JOBS) --target stagegraph stagegraph_tests stagegraph_rt_tests
	cd $(ASAN_BUILD) && UBSAN_OPTIONS=print_stacktrace=1 ctest --output-on-failure -j$(JOBS)

bench: build
	@for b in $(BUILD)/tests/bench_*; do echo "== $$b"; $$b; done

# stagegraph side by side with ffmpeg and SoX (docs/performance.md): makes its own material in
# $(BUILD)/bench-compare, RUNS rounds in alternation, medians and ratios. BENCH_ARGS=--long adds
# peak memory at 60 minutes; BENCH_ARGS="--only W2" runs one workload.
RUNS ?= 5
bench-compare: build
	/usr/bin/python3 tests/bench/bench_compare.py --build $(BUILD) --runs $(RUNS) $(BENCH_ARGS)

# Instruction counts (valgrind's callgrind, AVX2 kernels) of W1, W2 and analyze on excerpts of the
# bench-compare material: where the work is, steady on a shared machine.
bench-callgrind: build
	/usr/bin/python3 tests/bench/callgrind_profile.py --build $(BUILD) $(BENCH_ARGS)

docs: build
	./$(BUILD)/stagegraph nodes --markdown --out docs/nodes

# Every C++ file of the tree in the checked-in .clang-format style (clang-format 14, Debian 12).
SOURCES = $(shell git ls-files '*.cpp' '*.h' 2>/dev/null)
format: deps
	clang-format -i $(SOURCES)

format-check: deps
	@clang-format --dry-run --Werror $(SOURCES) || { echo "run 'make format' (clang-format 14)"; exit 1; }
	@echo "format: $(words $(SOURCES)) files formatted"

# libFuzzer targets (fuzz/): their own clang configuration, never part of the GCC builds.
# `make fuzz FUZZ_SECONDS=600` runs each target that long; what it finds new goes to
# $(FUZZ_BUILD)/corpus-<target> (the checked-in seeds in fuzz/corpus/ are only read) and a
# crash to $(FUZZ_BUILD)/crash-<target>-*: turn it into a regression test (docs/safety.md).
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_TARGETS := graph units audio
fuzz-build: deps
	cmake -S fuzz -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++ >/dev/null
	cmake --build $(FUZZ_BUILD) -j$(JOBS)

define run-fuzzers
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	  echo "== fuzz_$$t for $(1) s"; \
	  dict=""; [ -f fuzz/$$t.dict ] && dict="-dict=fuzz/$$t.dict"; \
	  $(FUZZ_BUILD)/fuzz_$$t $$dict -max_total_time=$(1) -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	    -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- $(FUZZ_BUILD)/corpus-$$t fuzz/corpus/$$t 2>$(FUZZ_BUILD)/fuzz_$$t.log \
	    || { tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; }; \
	  grep -E "stat::number_of_executed_units|stat::peak_rss_mb" $(FUZZ_BUILD)/fuzz_$$t.log; \
	done
endef

fuzz: fuzz-build
	$(call run-fuzzers,$(FUZZ_SECONDS))

fuzz-smoke: fuzz-build
	$(call run-fuzzers,$(FUZZ_SMOKE_SECONDS))

# `pip install .` into a temporary venv, then a render with the installed package (docs/python.md).
# A full Release build of the engine: minutes, so not part of `make test`.
python-pip-check: deps
	python/pip-install-check.sh

# The Debian packages installed with apt on a clean Debian 12 root (debootstrap, chroot; needs root
# and a Debian mirror), then run and removed (docs/install.md). Minutes, so not part of `make test`.
package-clean-check: build
	tests/packaging/clean-system-test.sh . $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
