# Portline: the two commands that matter are `make run` and `make test` (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := run
JOBS ?= $(shell nproc)

.PHONY: deps build run test bench fmt fmt-check fuzz clean

deps:
	@scripts/install-deps.sh

# Release binary at build/portline.
build: deps
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS) --target portline
	@cp build/release/src/cli/portline build/portline
	@echo "built build/portline"

# Build, then serve on the embedded default (SQLite under ./data) and print the URL and a key.
run: build
	@scripts/run.sh

# Everything: ASan+UBSan build, unit + integration + e2e tests on SQLite and a throwaway
# PostgreSQL, then a short libFuzzer run of every fuzz target.
test: deps
	@scripts/test.sh

bench: build
	@scripts/bench.sh

fmt:
	@scripts/format.sh

fmt-check:
	@scripts/format.sh --check

fuzz: deps
	@scripts/fuzz.sh --smoke 60

clean:
	rm -rf build
