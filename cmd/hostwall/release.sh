#!/usr/bin/env bash
# The release build of hostwall (make release, make build).
#
#   cmd/hostwall/release.sh ldflags   print the -ldflags of a stamped build
#   cmd/hostwall/release.sh [OUTDIR]  write the release into OUTDIR
#                                     (default bin/release)
#
# The release is static binaries for linux/amd64 and linux/arm64
# (hostwall-linux-ARCH), the man page hostwall.8, the bash completion
# hostwall.bash, the zsh completion _hostwall and SHA256SUMS of them all.
#
# Reproducible: the same commit and work tree give the same bytes. No
# cgo, -trimpath (no paths of this machine), an empty build ID, fixed
# GOAMD64/GOARM64, no VCS stamping by go (-buildvcs=false); the version
# and commit come in by -X from git. Each binary is built twice, the
# second time with the stamps worked out again and into another
# directory, and the release fails unless the two are byte-identical.
# The second build shares the Go build cache (it relinks); with
# RELEASE_FRESH_CACHE=1 it compiles everything again in an empty cache
# (minutes rather than seconds).
#
# The version is the v* tag at HEAD, else a Go pseudo-version of the
# commit (v0.0.0-20250102150405-0123456789ab, or vX.Y.(Z+1)-0.… after the
# tag vX.Y.Z), with +dirty when the work tree differs from the commit
# (git status lists anything). Outside a git clone nothing is stamped
# and --version says what go's build information knows.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}
ARCHES=(amd64 arm64)

# stamps sets version, commit and date (the commit's date, for the man
# page) from git; all empty outside a clone.
stamps() {
	version= commit= date=
	commit=$(git rev-parse --verify -q HEAD 2>/dev/null) || { commit=; return 0; }
	date=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%d HEAD)
	if ! version=$(git describe --tags --exact-match --match 'v[0-9]*' HEAD 2>/dev/null); then
		local t base
		t=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y%m%d%H%M%S HEAD)
		base=$(git describe --tags --abbrev=0 --match 'v[0-9]*' HEAD 2>/dev/null || true)
		if [[ $base =~ ^v([0-9]+)\.([0-9]+)\.([0-9]+)$ ]]; then
			version=v${BASH_REMATCH[1]}.${BASH_REMATCH[2]}.$((BASH_REMATCH[3] + 1))-0.$t-${commit:0:12}
		else
			version=v0.0.0-$t-${commit:0:12}
		fi
	fi
	if [ -n "$(git status --porcelain 2>/dev/null)" ]; then
		version+=+dirty
	fi
}

ldflags() {
	stamps
	local f="-s -w -buildid="
	if [ -n "$commit" ]; then
		f+=" -X main.version=$version -X main.commit=$commit"
	fi
	printf '%s\n' "$f"
}

# build ARCH OUT builds hostwall for linux/ARCH into OUT.
build() {
	env CGO_ENABLED=0 GOOS=linux GOARCH="$1" GOAMD64=v1 GOARM64=v8.0 GOFLAGS=-mod=readonly GOEXPERIMENT= \
		"$GO" build -trimpath -buildvcs=false -ldflags "$(ldflags)" -o "$2" ./cmd/hostwall
}

if [ "${1:-}" = ldflags ]; then
	ldflags
	exit 0
fi

out=${1:-bin/release}
mkdir -p "$(dirname "$out")"
work=$(mktemp -d "$(dirname "$out")/.release.XXXXXX")
work=$(cd "$work" && pwd) # GOCACHE must be absolute
trap 'rm -rf "$work"' EXIT
mkdir "$work/a" "$work/b" "$work/cache"
for arch in "${ARCHES[@]}"; do
	build "$arch" "$work/a/hostwall-linux-$arch"
	if [ "${RELEASE_FRESH_CACHE:-}" = 1 ]; then
		GOCACHE=$work/cache build "$arch" "$work/b/hostwall-linux-$arch"
	else
		build "$arch" "$work/b/hostwall-linux-$arch"
	fi
	if ! cmp "$work/a/hostwall-linux-$arch" "$work/b/hostwall-linux-$arch"; then
		echo "release: two builds of hostwall-linux-$arch differ: the build is not reproducible" >&2
		exit 1
	fi
	# Static: no cgo, so no interpreter and no shared libraries.
	if ! "$GO" version -m "$work/a/hostwall-linux-$arch" | grep -q 'CGO_ENABLED=0'; then
		echo "release: hostwall-linux-$arch was built with cgo" >&2
		exit 1
	fi
done

# The man page and completions, from the binary of this machine's
# architecture where it is one of the release's, else from a build for
# this machine with the same stamps.
stamps
gen=$work/a/hostwall-linux-$("$GO" env GOARCH)
if [ "$("$GO" env GOOS)" != linux ] || [ ! -x "$gen" ]; then
	gen=$work/hostwall-gen
	CGO_ENABLED=0 "$GO" build -trimpath -buildvcs=false -ldflags "$(ldflags)" -o "$gen" ./cmd/hostwall
fi
"$gen" __generate man --date "$date" >"$work/a/hostwall.8"
"$gen" __generate bash >"$work/a/hostwall.bash"
"$gen" __generate zsh >"$work/a/_hostwall"

files=("${ARCHES[@]/#/hostwall-linux-}" hostwall.8 hostwall.bash _hostwall)
(cd "$work/a" && sha256sum "${files[@]}" >SHA256SUMS)
rm -rf "$out"
mkdir -p "$out"
for f in "${files[@]}" SHA256SUMS; do
	mv "$work/a/$f" "$out/$f"
done
echo "release: ${version:-unstamped} (commit ${commit:-unknown}) in $out; both builds byte-identical"
(cd "$out" && cat SHA256SUMS && ls -l "${files[@]}")
