# hostwall: make demo, make test. See README.md.
SHELL := /bin/bash
GO ?= go
BIN := bin/hostwall
STATICCHECK := bin/tools/staticcheck
# Installs what a target needs and does not find; a no-op when all is there.
DEPS := ./integration/deps/install.sh
export CGO_ENABLED := 0
# iptables, ipset and ip are in /usr/sbin, which a minimal PATH (cron,
# some CI runners) lacks; Go's tarball installs into /usr/local/go/bin.
# Appended, so they never shadow what PATH already finds.
export PATH := $(PATH):/usr/local/go/bin:/usr/sbin:/sbin

.PHONY: all build release deps tools test unit cross integration docker-test vm-test boot-test bench lint fuzz demo clean

all: build

# Stamped with the version and commit git gives (--version), as the
# release is; worked out once, when first used.
LDFLAGS = $(eval LDFLAGS := $$(shell ./cmd/hostwall/release.sh ldflags))$(LDFLAGS)

build:
	$(GO) build -trimpath -buildvcs=false -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/hostwall

# bin/release: static reproducible binaries for linux/amd64 and arm64
# (each built twice; it fails unless the two are byte-identical), the
# man page hostwall.8, completions for bash and zsh, and SHA256SUMS.
# RELEASE_FRESH_CACHE=1 compiles the second build in an empty Go cache.
release:
	./cmd/hostwall/release.sh bin/release

# The container image, made offline (no daemon, no registry; see
# cmd/hostwall/internal/imagebuild): bin/hostwall-image.tar (amd64) and
# bin/hostwall-image-arm64.tar, each tagged hostwall:latest and
# hostwall:$(IMAGE_VERSION), for docker load.
IMAGE_VERSION ?= $(or $(VERSION),$(shell git describe --tags --always --dirty 2>/dev/null),dev)
IMAGE_COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
.PHONY: image
image:
	@set -e; for arch in amd64 arm64; do \
	  GOARCH=$$arch $(GO) build -trimpath -ldflags "-s -w -X main.version=$(IMAGE_VERSION) -X main.commit=$(IMAGE_COMMIT)" -o bin/image/$$arch/hostwall ./cmd/hostwall; \
	  out=bin/hostwall-image-$$arch.tar; [ $$arch = amd64 ] && out=bin/hostwall-image.tar; \
	  SOURCE_DATE_EPOCH=$$(git log -1 --format=%ct 2>/dev/null || echo 0) $(GO) run ./cmd/hostwall/internal/imagebuild \
	    -arch $$arch -version $(IMAGE_VERSION) -revision "$(IMAGE_COMMIT)" -o $$out bin/image/$$arch/hostwall; \
	done

# Unit tests need no privileges; integration tests need root and the
# iptables package (as the oracle) and fail under CI=true without them.
# The real-Docker test is part of integration; vm-test boots a second
# kernel. Benchmarks are run by hand (make bench). make test first
# installs whatever of that is missing (make deps), so it runs as is on a
# fresh Debian 12 machine.
# The fuzz targets get TEST_FUZZTIME each there (make fuzz: FUZZTIME),
# which keeps the whole under 30 minutes on two cores.
TEST_FUZZTIME ?= 15s
test: deps
	@$(MAKE) --no-print-directory lint unit cross release integration vm-test
	@$(MAKE) --no-print-directory fuzz FUZZTIME=$(TEST_FUZZTIME)

# The Debian packages of every test, and staticcheck.
deps:
	$(DEPS) test staticcheck

# staticcheck, pinned, in bin/tools (no root needed).
tools:
	$(DEPS) staticcheck

# hostwall builds for 64-bit little-endian Linux only (a build for
# anything else stops at xtables/internal/arch with one error naming the
# targets). cross builds and vets linux/arm64 and runs the unit tests
# there under qemu-user, and builds the command for the other supported
# targets. Left out under qemu: xtables/nft and xtables/hostnames, whose
# tests resolve ipset names through getsockopt(SO_IP_SET), which
# qemu-user does not pass to the kernel; and TestVersionCommit, which
# runs the binary it builds (that needs binfmt_misc, machine-wide).
CROSS_OTHERS := ppc64le riscv64 loong64 mips64le
cross:
	$(DEPS) cross
	GOARCH=arm64 $(GO) build ./...
	GOARCH=arm64 $(GO) vet ./...
	GOARCH=arm64 $(GO) test -count=1 -exec qemu-aarch64-static -skip '^TestVersionCommit$$' \
	  ./xtables ./xtables/ext ./xtables/internal/arch ./policy/... ./engine/... ./cmd/...
	@for a in $(CROSS_OTHERS); do echo "GOARCH=$$a $(GO) build ./cmd/hostwall"; GOARCH=$$a $(GO) build -o /dev/null ./cmd/hostwall || exit 1; done

unit:
	$(GO) test -count=1 ./xtables/... ./policy/... ./engine/... ./cmd/...

integration:
	$(GO) test -count=1 -timeout 30m ./integration/...

docker-test:
	$(DEPS) docker
	$(GO) test -count=1 -timeout 15m ./integration/docker/

vm-test:
	$(DEPS) vm
	./integration/vm/run.sh
	@$(MAKE) --no-print-directory boot-test

# A real boot of Debian 12 with systemd and docker.io under qemu: the
# units in cmd/hostwall/systemd apply before Docker starts (the root
# filesystem is built once with mmdebstrap and cached in bin/boot).
boot-test:
	$(DEPS) boot
	./integration/boot/run.sh

bench: build
	$(DEPS) bench
	./integration/bench/run.sh

# The Vagrantfile is validated where vagrant is installed (make deps
# installs it where Debian's archive has it).
lint: tools
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...
	@if command -v vagrant >/dev/null; then d=$$(mktemp -d); \
	  VAGRANT_DOTFILE_PATH=$$d vagrant validate --ignore-provider; rc=$$?; rm -rf "$$d"; exit $$rc; fi

# A bounded run of every fuzz target; what they find is kept in testdata/fuzz.
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecode$$' -fuzztime $(FUZZTIME) ./xtables/
	$(GO) test -run '^$$' -fuzz '^FuzzParseRule$$' -fuzztime $(FUZZTIME) ./xtables/
	$(GO) test -run '^$$' -fuzz '^FuzzParseFile$$' -fuzztime $(FUZZTIME) ./policy/
	$(GO) test -run '^$$' -fuzz '^FuzzSave$$' -fuzztime $(FUZZTIME) ./xtables/ext/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeRule$$' -fuzztime $(FUZZTIME) ./xtables/nft/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeNative$$' -fuzztime $(FUZZTIME) ./xtables/nft/

demo: build
	$(DEPS) demo
	./integration/demo/demo.sh $(BIN)

clean:
	rm -rf bin
