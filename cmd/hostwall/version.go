package main

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// version and commit may be set at link time
// (-ldflags "-X main.version=v1.2.0 -X main.commit=…"); otherwise they
// come from the build information go build stamps into the binary.
var version, commit string

// buildInfo is hostwall's module version, VCS commit and Go version.
func buildInfo() (ver, rev, goVersion string) {
	ver, rev, goVersion = version, commit, runtime.Version()
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return orUnknown(ver), orUnknown(rev), goVersion
	}
	goVersion = bi.GoVersion
	if ver == "" {
		ver = bi.Main.Version // "(devel)" for a build in the work tree without VCS stamping
	}
	if rev == "" {
		modified := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
		if rev != "" && modified {
			rev += " (modified)"
		}
	}
	if rev == "" {
		rev = "unknown (built without VCS information: -buildvcs=false, or not in a git work tree)"
	}
	return orUnknown(ver), rev, goVersion
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// printVersion prints what --version shows.
func printVersion(w io.Writer) {
	ver, rev, goVersion := buildInfo()
	fmt.Fprintf(w, "hostwall %s\ncommit %s\nbuilt with %s %s/%s\n", ver, rev, goVersion, runtime.GOOS, runtime.GOARCH)
}
