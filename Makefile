# Front door for developers and CI. Every target installs the Debian packages
# it needs first (ci/install-deps.sh is a no-op when they are present).
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
LAB_OUT    ?= out/lab

.PHONY: all deps build test unit-test asan-test portability fuzz bench vm-image multihost-test format clean

all: build

deps:
	@ci/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The tests: unit, golden, CLI end-to-end and FUSE integration tests.
test: build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# The unit, golden, CLI and FUSE tests with ASan + UBSan, the CLI binaries
# and the FUSE server they start included.
asan-test: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DFAMFS_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS) --target unit_tests golden_test cli_tests fuse_test
	@tests/run-sanitized.sh $(ASAN_BUILD)

# The whole tree built with -Werror by GCC 14 (in a Debian 13 root) and by
# clang, each followed by its unit and golden tests.
portability: deps
	@ci/portability-check.sh

fuzz: deps
	@CC=clang CXX=clang++ cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFAMFS_FUZZ=ON >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzz_replay
	@mkdir -p $(FUZZ_BUILD)/corpus
	@# New inputs go to the scratch corpus (the first directory); the seeds stay as committed.
	@$(FUZZ_BUILD)/bin/fuzz_replay -max_total_time=$${FUZZ_SECONDS:-60} -rss_limit_mb=2048 $(FUZZ_BUILD)/corpus tests/fuzz/corpus

bench: build
	@tests/bench/run.sh $(BUILD)

vm-image: build
	@vm-images/build.sh $(BUILD)

multihost-test: build
	@tests/lab/run.sh $(BUILD) $(LAB_OUT)

format:
	@find famfs harness tests -name '*.cc' -o -name '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-gcc14 build-clang out
