# amo-connect — thin Makefile over CMake. Every target installs (apt-get, through
# tools/deps.sh) the Debian packages it needs and are missing: `make build` only what
# compiling needs, `make run`, `make test`, `make deb`… add theirs on top.
SHELL := /bin/bash
# The prefix is compiled into the binary (its TEMPLATES_DIR/SQL_DIR defaults), so the build
# is configured with the prefix it is installed to: `make install PREFIX=/usr` reconfigures
# $(BUILD_DIR) for /usr and installs that very build.
PREFIX ?= /usr/local
DESTDIR ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test
# The libFuzzer targets (clang): `make fuzz` runs each for FUZZ_SECONDS; `make test` runs a
# short smoke of each from the same build directory.
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_CXX ?= clang++-14
FUZZ_TARGETS ?=
# make deb: a copy of the tree is built in $(DEB_DIR)/src; the packages land in $(DEB_DIR).
DEB_DIR ?= build-deb
# make deb runs lintian on the package (LINTIAN=0: not).
LINTIAN ?= 1
DEPS := bash tools/deps.sh
# debhelper gives the package build a HOME of its own: point ccache (when there is one) at
# the usual cache and settings, so that rebuilding the package reuses earlier compiles.
CCACHE_ENV = $(shell command -v ccache >/dev/null 2>&1 && \
  echo CCACHE_DIR=$$(ccache -k cache_dir) CCACHE_BASEDIR=$$(ccache -k base_dir))

.PHONY: all deps build run test test-tsan fuzz mutants bench bench-leads bench-profile soak install deb format clean

all: build

# Everything any target needs.
deps:
	@$(DEPS) build test-build run bench format package unit db e2e browser ops rules deb

build:
	@$(DEPS) build
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMO_TESTS=OFF \
	  -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@$(DEPS) run
	@bash tools/run.sh $(BUILD_DIR)

# The test build runs under AddressSanitizer + UndefinedBehaviorSanitizer. After the
# configure step, the packages of the CTest labels that CTEST_ARGS selects (all by default).
test:
	@$(DEPS) build test-build fuzz
	@cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DAMO_SANITIZE=ON \
	  -DAMO_FUZZ_BUILD_DIR=$(abspath $(FUZZ_BUILD_DIR)) >/dev/null
	@$(DEPS) --ctest $(TEST_BUILD_DIR) $(CTEST_ARGS)
	@cmake --build $(TEST_BUILD_DIR) -j $(JOBS)
	@cd $(TEST_BUILD_DIR) && ctest --output-on-failure $(CTEST_ARGS)
	@if [ "$(TSAN)" != 0 ] && [ -z "$(CTEST_ARGS)" ]; then $(MAKE) --no-print-directory test-tsan; fi

# The same unit, db and e2e labels under ThreadSanitizer (a separate build directory).
# `TSAN=1 make test` runs it after the ASan suite (a CTEST_ARGS selection skips it).
# Without the amoCRM fault table (e2e suite `faults`): it is about error mapping, not
# threads, and under TSan's 5-15x slowdown its 50 MB and deeply nested answers outlast
# AMO_HTTP_TIMEOUT_MS (504 amo_timeout instead of 502 amo_bad_response).
TSAN ?= 0
TSAN_BUILD_DIR ?= build-tsan
test-tsan:
	@$(DEPS) build test-build unit db e2e
	@cmake -S . -B $(TSAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DAMO_SANITIZE=thread >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target unit_tests db_tests e2e_tests amo-connect amo-sim
	@cd $(TSAN_BUILD_DIR) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  BOOST_TEST_RUN_FILTERS='!faults' ctest --output-on-failure -L '^(unit|db|e2e)$$' $(CTEST_ARGS)

# Coverage-guided fuzzing (libFuzzer, ASan+UBSan): every target (or FUZZ_TARGETS) for
# FUZZ_SECONDS each, one after another; prints executions per target. See tests/fuzz/README.md.
fuzz:
	@$(DEPS) build fuzz
	@bash tests/fuzz/build.sh . $(FUZZ_BUILD_DIR) $(FUZZ_CXX) $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh fuzz $(FUZZ_BUILD_DIR) $(FUZZ_TARGETS)

# Mutation testing (slow, not part of CI): each tests/mutants/*.patch is applied alone to a
# scratch copy, built and tested; every mutant must be killed. MUTANTS="name glob…" picks
# some; see tools/mutants.sh.
mutants:
	@$(DEPS) build test-build unit db e2e
	@bash tools/mutants.sh $(MUTANTS)

bench: build
	@$(DEPS) bench
	@bash tools/bench.sh $(BUILD_DIR)
	@bash tools/bench_leads.sh $(BUILD_DIR)

# Instructions, system calls and context switches per GET /status (callgrind, strace).
bench-profile: build
	@$(DEPS) bench
	@bash tools/bench_profile.sh $(BUILD_DIR)

# Only the leads store benchmark (50 users of one account, with and without the store).
bench-leads: build
	@$(DEPS) bench
	@bash tools/bench_leads.sh $(BUILD_DIR)

# SOAK_SECONDS (300) of mixed load through nginx against the simulator: RSS, fds and database
# backends every 15 s, PASS/FAIL at the end (not part of make test); see tools/soak.sh.
soak: build
	@$(DEPS) bench
	@bash tools/soak.sh $(BUILD_DIR)

install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR)

# The Debian package (debian/), built the Debian way: dpkg-buildpackage -us -uc -b, in a
# copy of the tree (the files git tracks or would track; no build directories), so the
# working tree stays clean and the .deb lands in $(DEB_DIR), not in the parent directory.
deb:
	@$(DEPS) build package
	@rm -rf $(DEB_DIR)/src && mkdir -p $(DEB_DIR)/src
	@rm -f $(DEB_DIR)/*.deb $(DEB_DIR)/*.ddeb $(DEB_DIR)/*.changes $(DEB_DIR)/*.buildinfo
	@if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
	  git ls-files -z -co --exclude-standard | tar --null --ignore-failed-read -T - -cf -; \
	else \
	  tar --exclude-vcs --exclude=./build --exclude='./build-*' --exclude=./var -cf - .; \
	fi | tar -xf - -C $(DEB_DIR)/src
	@cd $(DEB_DIR)/src && $(CCACHE_ENV) dpkg-buildpackage -us -uc -b -J$(JOBS)
	@if [ "$(LINTIAN)" = 1 ]; then lintian --display-info $(DEB_DIR)/*.deb; fi
	@ls -l $(DEB_DIR)/*.deb

format:
	@$(DEPS) format
	@clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'tools/*.cpp' 'tools/*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) $(TSAN_BUILD_DIR) $(DEB_DIR) $(FUZZ_BUILD_DIR)
