# Thin front for CMake: names the user's commands, builds nothing itself.
BUILD      ?= build
TESTBUILD  ?= build-test
FUZZBUILD  ?= build-fuzz
JOBS       ?= $(shell nproc)
FUZZ_SECONDS ?= 60

.PHONY: all deps test-deps build demo test bench fuzz soak clean

all: build

deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DMAMORI_TESTS=OFF >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	@scripts/demo $(BUILD)/mamori

test: test-deps
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DMAMORI_SANITIZE=ON -DMAMORI_WERROR=ON >/dev/null
	cmake --build $(TESTBUILD) -j $(JOBS)
	cd $(TESTBUILD) && ctest --output-on-failure -j $(JOBS)

# libFuzzer on every decoder of outside bytes, FUZZ_SECONDS each (clang).
fuzz:
	@scripts/install-deps --fuzz
	cmake -S . -B $(FUZZBUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DMAMORI_TESTS=OFF -DMAMORI_FUZZ=ON >/dev/null
	cmake --build $(FUZZBUILD) -j $(JOBS)
	@scripts/fuzz $(FUZZBUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Long hardening runs (crash points, a million-entry folder, deep trees).
soak: test-deps
	cmake -S . -B $(TESTBUILD) -DCMAKE_BUILD_TYPE=Debug -DMAMORI_SANITIZE=ON -DMAMORI_WERROR=ON >/dev/null
	cmake --build $(TESTBUILD) -j $(JOBS)
	@scripts/soak $(TESTBUILD)

bench: build
	@scripts/install-deps --bench
	@bench/run $(BUILD)/mamori

clean:
	rm -rf $(BUILD) $(TESTBUILD) $(FUZZBUILD)
