# hostwall: make demo, make test. See README.md.
SHELL := /bin/bash
GO ?= go
BIN := bin/hostwall
export CGO_ENABLED := 0

.PHONY: all build test unit integration docker-test vm-test bench lint fuzz demo clean

all: build

build:
	$(GO) build -trimpath -ldflags "-s -w" -o $(BIN) ./cmd/hostwall

# Unit tests need no privileges; integration tests need root and the
# iptables package (as the oracle) and fail under CI=true without them.
# The real-Docker test is part of integration; vm-test boots a second
# kernel. Benchmarks are run by hand (make bench).
test: lint unit integration vm-test fuzz

unit:
	$(GO) test -count=1 ./xtables/... ./policy/... ./engine/... ./cmd/...

integration:
	$(GO) test -count=1 -timeout 30m ./integration/...

docker-test:
	$(GO) test -count=1 -timeout 15m ./integration/docker/

vm-test:
	./integration/vm/run.sh

bench: build
	./integration/bench/run.sh

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; \
	  elif [ "$$CI" = true ]; then echo "staticcheck missing"; exit 1; \
	  else echo "staticcheck not installed; skipped (CI installs it)"; fi

# A bounded run of every fuzz target; what they find is kept in testdata/fuzz.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./xtables/
	$(GO) test -run '^$$' -fuzz '^FuzzParseRule$$' -fuzztime $(FUZZTIME) ./xtables/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFile$$' -fuzztime $(FUZZTIME) ./policy/
	$(GO) test -run '^$$' -fuzz '^FuzzSave$$' -fuzztime $(FUZZTIME) ./xtables/ext/

demo: build
	./integration/demo/demo.sh $(BIN)

clean:
	rm -rf bin
