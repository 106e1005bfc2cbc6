package main

import (
	"archive/tar"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// The archive as docker load reads it: both tags, in order, the config
// (entrypoint, labels, platform, time) and one layer with the binary;
// and the same bytes from a second build.
func TestArchive(t *testing.T) {
	bin := []byte("\x7fELF not really, but the bytes are kept")
	created := time.Unix(1700000000, 0).UTC()
	write := func() []byte {
		img, err := build(bin, "arm64", "v1.2.3", "0123abcd", created)
		if err != nil {
			t.Fatal(err)
		}
		refs := map[name.Reference]v1.Image{}
		for _, tag := range []string{"hostwall:latest", "hostwall:v1.2.3"} {
			ref, err := name.NewTag(tag)
			if err != nil {
				t.Fatal(err)
			}
			refs[ref] = img
		}
		var buf bytes.Buffer
		if err := tarball.MultiRefWrite(refs, &buf); err != nil {
			t.Fatal(err)
		}
		out, err := sortRepoTags(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	archive := write()
	for range 5 {
		if !bytes.Equal(write(), archive) {
			t.Fatal("two builds of the same binary differ")
		}
	}
	path := filepath.Join(t.TempDir(), "image.tar")
	if err := os.WriteFile(path, archive, 0o644); err != nil {
		t.Fatal(err)
	}
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != 1 || !slices.Equal(m[0].RepoTags, []string{"hostwall:latest", "hostwall:v1.2.3"}) {
		t.Fatalf("manifest %+v", m)
	}
	tag, _ := name.NewTag("hostwall:v1.2.3")
	img, err := tarball.ImageFromPath(path, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "arm64" || !cf.Created.Time.Equal(created) {
		t.Errorf("platform %s/%s, created %v", cf.OS, cf.Architecture, cf.Created)
	}
	if !slices.Equal(cf.Config.Entrypoint, []string{binPath}) || cf.Config.User != "" {
		t.Errorf("entrypoint %q, user %q", cf.Config.Entrypoint, cf.Config.User)
	}
	for k, want := range map[string]string{"org.opencontainers.image.version": "v1.2.3", "org.opencontainers.image.revision": "0123abcd"} {
		if got := cf.Config.Labels[k]; got != want {
			t.Errorf("label %s = %q, want %q", k, got, want)
		}
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %v, %v", layers, err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	var names []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		if h.Name == binPath[1:] {
			data, _ := io.ReadAll(tr)
			if !bytes.Equal(data, bin) || h.Mode != 0o755 || h.Uid != 0 || !h.ModTime.Equal(created) {
				t.Errorf("%s: mode %o uid %d time %v, %d bytes", h.Name, h.Mode, h.Uid, h.ModTime, len(data))
			}
		}
	}
	if !slices.Equal(names, []string{"usr/", "usr/sbin/", "usr/sbin/hostwall"}) {
		t.Errorf("layer holds %q", names)
	}
}

// A dynamically linked or foreign binary is refused.
func TestReadStatic(t *testing.T) {
	if _, err := readStatic("/bin/sh", "amd64"); err == nil {
		t.Error("/bin/sh (dynamic) accepted")
	}
	if _, err := readStatic("/bin/sh", "mips"); err == nil {
		t.Error("-arch mips accepted")
	}
}
