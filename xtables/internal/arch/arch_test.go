package arch

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestUnsupportedArchitectures: hostwall builds for 64-bit
// little-endian Linux, and for a 32-bit or big-endian target (or another
// OS) fails with one error that says so, not with whatever first
// assumed a 64-bit layout (386 failed on syscall.SYS_GETSOCKOPT; arm
// built, with the 64-bit struct ipt_replace). The build of linux/arm64
// and the other supported targets is make cross's.
func TestUnsupportedArchitectures(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command: %v", err)
	}
	run := func(goos, goarch string, args ...string) (string, error) {
		cmd := exec.Command(goTool, args...)
		cmd.Env = append(os.Environ(), "GOOS="+goos, "GOARCH="+goarch, "CGO_ENABLED=0")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	for _, target := range [][2]string{{"linux", "386"}, {"linux", "arm"}, {"linux", "s390x"}, {"darwin", "arm64"}} {
		// The package itself imports nothing: this is quick.
		out, err := run(target[0], target[1], "build", "-o", os.DevNull, ".")
		if err == nil || !strings.Contains(out, "undefined: hostwall_builds_only_for_64_bit_little_endian_Linux__amd64_arm64") || strings.Count(out, "undefined:") != 1 {
			t.Errorf("%s/%s: want one error naming the supported targets, got %v:\n%s", target[0], target[1], err, out)
		}
	}
	// And it is the first thing every command of the module builds:
	// every package that needs the x_tables layouts depends on it.
	out, err := run("linux", "386", "list", "-deps", "-f", "{{.ImportPath}}", "github.com/hostwall/hostwall/cmd/hostwall", "github.com/hostwall/hostwall/xtables/ext")
	if err != nil || !strings.Contains(out, "github.com/hostwall/hostwall/xtables/internal/arch\n") {
		t.Errorf("hostwall does not depend on the architecture check: %v\n%s", err, out)
	}
}
