// Command imagebuild writes hostwall's container image as an archive
// that docker load accepts: the static binary on an empty base, made
// offline with go-containerregistry (no daemon, no registry, no base to
// pull). make image runs it once per architecture:
//
//	imagebuild -arch amd64 -version v1.2.0 -revision COMMIT -o bin/hostwall-image.tar bin/image/amd64/hostwall
//
// The image holds /usr/sbin/hostwall and nothing else (no /run, no
// shell, no libc); its entrypoint is hostwall, and it is tagged
// REPO:latest and REPO:VERSION. The labels carry the OCI annotations
// org.opencontainers.image.version and .revision. Its creation time is
// $SOURCE_DATE_EPOCH (make passes the commit's time), so that two builds
// of the same binary give the same layer and config.
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// binPath is where the binary sits in the image.
const binPath = "/usr/sbin/hostwall"

// machines are the ELF machines of the architectures an image is made
// for.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "imagebuild: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("imagebuild", flag.ContinueOnError)
	arch := fs.String("arch", "amd64", "the binary's `ARCH`: amd64 or arm64")
	version := fs.String("version", "", "the `VERSION`: the second tag and the version label")
	revision := fs.String("revision", "", "the VCS `COMMIT` for the revision label")
	repo := fs.String("repo", "hostwall", "the image's `REPOSITORY` name")
	out := fs.String("o", "bin/hostwall-image.tar", "the archive to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("usage: imagebuild [-arch ARCH] -version VERSION [-revision COMMIT] [-repo NAME] [-o FILE] BINARY")
	}
	if *version == "" {
		return errors.New("-version is required")
	}
	created, err := sourceDate()
	if err != nil {
		return err
	}
	bin, err := readStatic(fs.Arg(0), *arch)
	if err != nil {
		return err
	}
	var tags []name.Tag
	for _, t := range []string{"latest", *version} {
		tag, err := name.NewTag(*repo + ":" + t)
		if err != nil {
			return fmt.Errorf("tag %s:%s: %w (a tag is letters, digits, '_', '.' and '-')", *repo, t, err)
		}
		tags = append(tags, tag)
	}
	img, err := build(bin, *arch, *version, *revision, created)
	if err != nil {
		return err
	}
	refs := map[name.Reference]v1.Image{}
	for _, t := range tags {
		refs[t] = img
	}
	var archive bytes.Buffer
	if err := tarball.MultiRefWrite(refs, &archive); err != nil {
		return err
	}
	stable, err := sortRepoTags(archive.Bytes())
	if err != nil {
		return err
	}
	tmp := *out + ".tmp"
	if err := os.WriteFile(tmp, stable, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, *out); err != nil {
		return err
	}
	st, err := os.Stat(*out)
	if err != nil {
		return err
	}
	id, _ := img.ConfigName()
	fmt.Printf("%s: %s/%s image %s, tagged %s and %s, %.1f MiB (binary %.1f MiB)\n", *out, "linux", *arch,
		id, tags[0].String(), tags[1].String(), float64(st.Size())/(1<<20), float64(len(bin))/(1<<20))
	return nil
}

// sourceDate is $SOURCE_DATE_EPOCH (reproducible-builds.org), or the
// Unix epoch when it is not set.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(0, 0).UTC(), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

// readStatic reads the binary and checks that it is a statically linked
// executable for arch: on an empty base there is no loader and no libc.
func readStatic(path, arch string) ([]byte, error) {
	want, ok := machines[arch]
	if !ok {
		return nil, fmt.Errorf("-arch %q: amd64 or arm64", arch)
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := elf.NewFile(bytes.NewReader(bin))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	if f.Machine != want {
		return nil, fmt.Errorf("%s is for %v, not %s", path, f.Machine, arch)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked: build it with CGO_ENABLED=0", path)
		}
	}
	return bin, nil
}

// build makes the image: one layer holding the binary, on empty.Image.
func build(bin []byte, arch, version, revision string, created time.Time) (v1.Image, error) {
	layerTar, err := layerTar(bin, created)
	if err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithCompressionLevel(gzip.BestCompression))
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: created}
	labels := map[string]string{
		"org.opencontainers.image.title":       "hostwall",
		"org.opencontainers.image.description": "a host firewall in one chain of its own, beside Docker and Kubernetes",
		"org.opencontainers.image.source":      "https://github.com/hostwall/hostwall",
		"org.opencontainers.image.version":     version,
		"org.opencontainers.image.created":     created.Format(time.RFC3339),
	}
	if revision != "" {
		labels["org.opencontainers.image.revision"] = revision
	}
	cf.Config = v1.Config{
		Entrypoint: []string{binPath},
		Cmd:        []string{"--help"},
		Env:        []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin"},
		WorkingDir: "/",
		Labels:     labels,
	}
	cf.History = []v1.History{{Created: cf.Created, CreatedBy: "imagebuild: " + binPath + " (hostwall " + version + ")"}}
	return mutate.ConfigFile(img, cf)
}

// layerTar is the layer: /usr, /usr/sbin and the binary, owned by root,
// with the given time.
func layerTar(bin []byte, mtime time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "usr/", Mode: 0o755},
		{Typeflag: tar.TypeDir, Name: "usr/sbin/", Mode: 0o755},
		{Typeflag: tar.TypeReg, Name: binPath[1:], Mode: 0o755, Size: int64(len(bin))},
	} {
		h.ModTime = mtime
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
	}
	if _, err := tw.Write(bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// sortRepoTags puts the tags of manifest.json in order: tarball lists
// them in map order, which would make two builds of one binary differ.
func sortRepoTags(archive []byte) ([]byte, error) {
	var out bytes.Buffer
	tr, tw := tar.NewReader(bytes.NewReader(archive)), tar.NewWriter(&out)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		if h.Name == "manifest.json" {
			var m tarball.Manifest
			if err := json.Unmarshal(data, &m); err != nil {
				return nil, fmt.Errorf("manifest.json: %w", err)
			}
			for i := range m {
				slices.Sort(m[i].RepoTags)
			}
			if data, err = json.Marshal(m); err != nil {
				return nil, err
			}
			h.Size = int64(len(data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
