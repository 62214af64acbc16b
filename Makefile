# Convenience wrapper around CMake; see README.md.
#   make demo   build, then run wt-server and wt-client against each other
#   make test   build, then run every test (also under ASan + UBSan)
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps deps-browser demo test test-fast test-asan clean

all: $(BUILD)/.built

deps:
	@scripts/install-deps.sh

deps-browser:
	@scripts/install-deps.sh --browser

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

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

FORCE:
