# amo-connect — thin Makefile over CMake. `make run` and `make test` install what is missing.
SHELL := /bin/bash
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

# Debian packages the build, the tests, `make run` and `make bench` need.
DEB_PACKAGES := cmake g++ make pkg-config ccache libfcgi-dev libpqxx-dev rapidjson-dev \
  libcurl4-openssl-dev libkainjow-mustache-dev libboost-test-dev libssl-dev libsystemd-dev \
  postgresql nginx-light wrk curl ca-certificates chromium nodejs systemd prometheus \
  clang-format clang-14 libclang-rt-14-dev

.PHONY: all deps build run test fuzz bench install format clean

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
	@cmake -S . -B $(TEST_BUILD_DIR) -DCMAKE_BUILD_TYPE=Debug -DAMO_SANITIZE=ON \
	  -DAMO_FUZZ_BUILD_DIR=$(abspath $(FUZZ_BUILD_DIR)) >/dev/null
	@cmake --build $(TEST_BUILD_DIR) -j $(JOBS)
	@cd $(TEST_BUILD_DIR) && ctest --output-on-failure $(CTEST_ARGS)

# Coverage-guided fuzzing (libFuzzer, ASan+UBSan): every target (or FUZZ_TARGETS) for
# FUZZ_SECONDS each, one after another; prints executions per target. See tests/fuzz/README.md.
fuzz: deps
	@bash tests/fuzz/build.sh . $(FUZZ_BUILD_DIR) $(FUZZ_CXX) $(JOBS)
	@FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh fuzz $(FUZZ_BUILD_DIR) $(FUZZ_TARGETS)

bench: build
	@bash tools/bench.sh $(BUILD_DIR)

install: build
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD_DIR) --prefix $(PREFIX)

format:
	@clang-format -i $$(git ls-files 'src/*.cpp' 'src/*.hpp' 'tests/*.cpp' 'tests/*.hpp' 'tools/*.cpp' 'tools/*.hpp')

clean:
	rm -rf $(BUILD_DIR) $(TEST_BUILD_DIR) $(FUZZ_BUILD_DIR)
