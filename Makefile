# Thin wrapper over CMake and ctest. `make run` and `make test` install what
# is missing first (scripts/deps.sh).
BUILD   ?= build
JOBS    ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps test-deps build run test unit integration faults hostile crash crash-campaign clients console console-screenshots cluster asan fuzz fuzz-campaign clean bench deb packaging

all: build

deps:
	@scripts/deps.sh

test-deps:
	@scripts/deps.sh --test

$(BUILD)/build.ninja $(BUILD)/Makefile:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)

build: deps $(BUILD)/Makefile
	cmake --build $(BUILD) -j $(JOBS)

run: build
	./$(BUILD)/runnel serve $(ARGS)

unit: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

integration: build test-deps
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) node --test --test-concurrency=1 tests/integration/
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) python3 tests/integration/test_cli_boto3.py
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) python3 tests/integration/test_cli_control.py
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) python3 tests/integration/test_auth_boto3.py

faults: build test-deps
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) node --test --test-concurrency=1 tests/faults/

# One test per defect of a hostile client, a full disk or a strange header (docs/limits.md).
hostile: build test-deps
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) node --test --test-concurrency=1 tests/hostile/

# Crash consistency (tests/crash/crash.py, docs/testing.md): a recorded run's every write and
# fsync, and the on-disk states a power loss at CRASH_POINTS points could leave, each opened and
# checked, CRASH_RECOVERIES of them also crashed during their own recovery; first self-tests
# that the checker finds the loss when the fsyncs (of the run, then of recoveries) are hidden.
CRASH_POINTS ?= 80
CRASH_VARIANTS ?= 3
CRASH_RECOVERIES ?= 6
crash: build test-deps
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) CRASHREC_SO=$(abspath $(BUILD)/tests/crash/crashrec.so) python3 tests/crash/crash.py --points 10 --variants 1 --hide sync
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) CRASHREC_SO=$(abspath $(BUILD)/tests/crash/crashrec.so) python3 tests/crash/crash.py --points 4 --variants 6 --recoveries 3 --recovery-points 16 --recovery-hide sync
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) CRASHREC_SO=$(abspath $(BUILD)/tests/crash/crashrec.so) python3 tests/crash/crash.py --points $(CRASH_POINTS) --variants $(CRASH_VARIANTS) --recoveries $(CRASH_RECOVERIES) --recovery-points 4

# CRASH_RUNS recorded runs (new seeds) of CRASH_CAMPAIGN_POINTS points x 5 states each (not in CI).
crash-campaign: build test-deps
	@scripts/crash-campaign.sh

# The real clients (Java SDK v2, KCL, KPL, Rust, Go, boto3, browsers), tests/clients/<name>/run.sh;
# CLIENTS="java-sdk rust" runs some. Each installs its pinned dependencies and caches them.
clients: build test-deps
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) scripts/clients.sh

# The web console (/console, docs/console.md) in headless Chromium (tests/console/run.sh);
# console-screenshots also retakes docs/console/*.png.
console: build test-deps
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) tests/console/run.sh

console-screenshots: build test-deps
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) tests/console/run.sh --screenshots

# The NATS JetStream cluster of cluster mode (issue 13, docs/cluster.md): builds the pinned
# nats-server into ~/.cache/runnel/nats the first time and installs libnats-dev
# (scripts/deps.sh --cluster), configures again so CMake finds libnats (build/natsprobe), then
# starts 3-node clusters on loopback and kills their stream leaders (tests/cluster/).
# Not yet in `make test`.
cluster: deps
	@scripts/deps.sh --cluster
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)
	node --test --test-concurrency=1 tests/cluster/

# The Debian package (scripts/deb.sh, packaging/deb/): $(BUILD)/runnel_VERSION_ARCH.deb.
deb: build
	scripts/deb.sh $(BUILD)

# Builds the package and checks it in a scratch root (tests/packaging/deb.sh; a few seconds).
packaging: build
	tests/packaging/deb.sh $(BUILD)

test: build test-deps
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	tests/packaging/deb.sh $(BUILD)
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) node --test --test-concurrency=1 tests/integration/ tests/faults/ tests/hostile/
	$(MAKE) --no-print-directory crash
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) python3 tests/integration/test_cli_boto3.py
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) python3 tests/integration/test_cli_control.py
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) python3 tests/integration/test_auth_boto3.py
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) tests/console/run.sh
	RUNNEL_BIN=$(abspath $(BUILD)/runnel) scripts/clients.sh

# Unit tests and fuzz-corpus replays under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	cmake -S . -B build-asan -DRUNNEL_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-asan -j $(JOBS)
	cd build-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure -j $(JOBS)

fuzz: deps
	CC=clang cmake -S . -B build-fuzz -DRUNNEL_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug
	cmake --build build-fuzz -j $(JOBS)

# Every libFuzzer target for FUZZ_SECONDS (600) each, growing fuzz/corpus/ (not in CI).
fuzz-campaign: fuzz
	@scripts/fuzz-campaign.sh

# Benchmarks side by side with the peers and the machine's ceilings (docs/benchmarks.md).
bench:
	@bench/run.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
