# amo-connect — thin Makefile over CMake. `make run` and `make test` install what is missing.
SHELL := /bin/bash
PREFIX ?= /usr/local
DESTDIR ?=
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
BUILD_DIR ?= build
TEST_BUILD_DIR ?= build-test

# Debian packages the build, the tests, `make run` and `make bench` need.
DEB_PACKAGES := cmake g++ make pkg-config ccache libfcgi-dev libpqxx-dev rapidjson-dev \
  libcurl4-openssl-dev libkainjow-mustache-dev libboost-test-dev libssl-dev libsystemd-dev \
  postgresql nginx-light wrk curl ca-certificates chromium nodejs systemd prometheus \
  clang-format

.PHONY: all deps build run test test-tsan bench bench-leads install format clean

all: build

deps:
	@bash tools/deps.sh $(DEB_PACKAGES)

build: deps
	@cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DAMO_TESTS=OFF >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

run: build
	@bash tools/run.sh $(BUILD_DIR)

# The test build runs under AddressSanitizer + UndefinedBehaviorSanitizer.
test: deps
	@cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DAMO_SANITIZE=ON >/dev/null
	@cmake --build $(TEST_BUILD_DIR) -j $(JOBS)
	@cd $(TEST_BUILD_DIR) && ctest --output-on-failure $(CTEST_ARGS)

# The same unit, db and e2e labels under ThreadSanitizer (a separate build directory).
TSAN_BUILD_DIR ?= build-tsan
test-tsan: deps
	@cmake -S . -B $(TSAN_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DAMO_SANITIZE=thread >/dev/null
	@cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target unit_tests db_tests e2e_tests amo-connect amo-sim
	@cd $(TSAN_BUILD_DIR) && TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(CURDIR)/tests/tsan.supp" \
	  ctest --output-on-failure -L '^(unit|db|e2e)$$' $(CTEST_ARGS)

bench: build
	@bash tools/bench.sh $(BUILD_DIR)
	@bash tools/bench_leads.sh $(BUILD_DIR)

# Only the leads store benchmark (50 users of one account, with and without the store).
bench-leads: build
	@bash tools/bench_leads.sh $(BUILD_DIR)

install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

format:
	@clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'tools/*.cpp' 'tools/*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) $(TSAN_BUILD_DIR)
