# Convenience wrapper around CMake; see README.md.
#   make demo   build, then run wt-server and wt-client against each other
#   make test   build, then run every test (also under ASan + UBSan)
#   make fuzz-short  every libFuzzer target for FUZZ_SECONDS (20) each
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

FUZZ_SECONDS ?= 20

.PHONY: all deps deps-browser deps-fuzz demo test test-fast test-asan fuzz-short clean

all: $(BUILD)/.built

deps:
	@scripts/install-deps.sh

deps-browser:
	@scripts/install-deps.sh --browser

deps-fuzz:
	@scripts/install-deps.sh --fuzz

$(BUILD)/.built: deps FORCE
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DWT_BROWSER_TESTS=ON >/dev/null
	@cmake --build $(BUILD) -j$(JOBS) -- --no-print-directory
	@touch $@

demo: all
	@scripts/demo.sh $(BUILD)

# Every test: unit, loopback integration, tools, headless browsers.
test-fast: deps-browser all
	@cd $(BUILD) && ctest --output-on-failure -j$(JOBS)

# Unit and integration tests again with AddressSanitizer and UBSan.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DWT_SANITIZE=ON -DWT_BROWSER_TESTS=OFF >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS) -- --no-print-directory
	@cd $(ASAN_BUILD) && ctest --output-on-failure -j$(JOBS)

test: test-fast test-asan

# libFuzzer (clang, ASan + UBSan) on every fuzz target, from fuzz/corpus/;
# fuzz/run.sh SECONDS runs them longer.
fuzz-short: deps-fuzz
	@fuzz/run.sh $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz

FORCE:
