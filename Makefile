# hostwall: make demo, make test. See README.md.
SHELL := /bin/bash
GO ?= go
BIN := bin/hostwall
export CGO_ENABLED := 0

.PHONY: all build test unit integration lint fuzz demo clean

all: build

build:
	$(GO) build -trimpath -ldflags "-s -w" -o $(BIN) ./cmd/hostwall

# Unit tests need no privileges; integration tests need root and the
# iptables package (as the oracle) and fail under CI=true without them.
test: lint unit integration fuzz

unit:
	$(GO) test -count=1 ./xtables/... ./policy/... ./cmd/...

integration:
	$(GO) test -count=1 -timeout 20m ./integration/...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	@if command -v staticcheck >/dev/null; then staticcheck ./...; \
	  elif [ "$$CI" = true ]; then echo "staticcheck missing"; exit 1; \
	  else echo "staticcheck not installed; skipped (CI installs it)"; fi

# A bounded run of every fuzz target; what they find is kept in testdata/fuzz.
FUZZTIME ?= 10s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./xtables/
	$(GO) test -run '^$$' -fuzz '^FuzzParseRule$$' -fuzztime $(FUZZTIME) ./xtables/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFile$$' -fuzztime $(FUZZTIME) ./policy/

demo: build
	./integration/demo/demo.sh $(BIN)

clean:
	rm -rf bin
