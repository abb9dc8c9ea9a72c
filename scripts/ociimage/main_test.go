package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

type descriptor struct {
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int    `json:"size"`
}

// TestImageMatchesDockerfile assembles an image and reads it back as a
// runtime would: index → manifest → config and layer, every digest and
// size checked; the layer holds the Dockerfile's layout and the config
// runs the Dockerfile's entrypoint as its user.
func TestImageMatchesDockerfile(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app")
	zone := filepath.Join(dir, "zoneinfo")
	must(t, os.WriteFile(bin, []byte("\x7fELF fake binary"), 0o755))
	must(t, os.MkdirAll(filepath.Join(zone, "Europe"), 0o755))
	must(t, os.WriteFile(filepath.Join(zone, "Europe", "Paris"), []byte("TZif"), 0o644))
	must(t, os.Symlink("Europe/Paris", filepath.Join(zone, "CET")))
	ca := filepath.Join(dir, "ca.crt")
	must(t, os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o644))
	out := filepath.Join(dir, "img.tar")
	var stderr bytes.Buffer
	if err := run([]string{"-binary", bin, "-ca", ca, "-zoneinfo", zone, "-tag", "tasuki:test", "-arch", "arm64", "-out", out}, &stderr); err != nil {
		t.Fatalf("%v: %s", err, stderr.String())
	}

	files := map[string][]byte{}
	f, err := os.Open(out)
	must(t, err)
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		b, _ := io.ReadAll(tr)
		files[h.Name] = b
	}
	blob := func(d descriptor) []byte {
		t.Helper()
		b, ok := files["blobs/sha256/"+strings.TrimPrefix(d.Digest, "sha256:")]
		if !ok {
			t.Fatalf("no blob %s", d.Digest)
		}
		sum := sha256.Sum256(b)
		if "sha256:"+hex.EncodeToString(sum[:]) != d.Digest || len(b) != d.Size {
			t.Fatalf("blob %s: digest or size (%d, want %d) does not match", d.Digest, len(b), d.Size)
		}
		return b
	}
	if string(files["oci-layout"]) != `{"imageLayoutVersion":"1.0.0"}` {
		t.Errorf("oci-layout %q", files["oci-layout"])
	}
	var index struct {
		Manifests []struct {
			descriptor
			Annotations map[string]string `json:"annotations"`
		} `json:"manifests"`
	}
	must(t, json.Unmarshal(files["index.json"], &index))
	if len(index.Manifests) != 1 || index.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "tasuki:test" {
		t.Fatalf("index %s", files["index.json"])
	}
	var manifest struct {
		Config descriptor   `json:"config"`
		Layers []descriptor `json:"layers"`
	}
	must(t, json.Unmarshal(blob(index.Manifests[0].descriptor), &manifest))
	var config struct {
		Architecture string `json:"architecture"`
		OS           string `json:"os"`
		Config       struct {
			User       string
			Entrypoint []string
			Cmd        []string
			WorkingDir string
		} `json:"config"`
		RootFS struct {
			DiffIDs []string `json:"diff_ids"`
		} `json:"rootfs"`
	}
	must(t, json.Unmarshal(blob(manifest.Config), &config))
	if len(manifest.Layers) != 1 || len(config.RootFS.DiffIDs) != 1 {
		t.Fatalf("%d layers, %d diff IDs; want 1", len(manifest.Layers), len(config.RootFS.DiffIDs))
	}
	gz, err := gzip.NewReader(bytes.NewReader(blob(manifest.Layers[0])))
	must(t, err)
	raw, err := io.ReadAll(gz)
	must(t, err)
	if sum := sha256.Sum256(raw); "sha256:"+hex.EncodeToString(sum[:]) != config.RootFS.DiffIDs[0] {
		t.Error("the layer's diff ID is not the digest of its uncompressed tar")
	}
	type entry struct {
		typ  byte
		mode int64
		uid  int
		link string
	}
	layer := map[string]entry{}
	lr := tar.NewReader(bytes.NewReader(raw))
	for {
		h, err := lr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		layer[h.Name] = entry{h.Typeflag, h.Mode, h.Uid, h.Linkname}
	}
	want := map[string]entry{
		"usr/local/bin/app":                 {tar.TypeReg, 0o755, 0, ""},
		"etc/ssl/certs/ca-certificates.crt": {tar.TypeReg, 0o644, 0, ""},
		"etc/passwd":                        {tar.TypeReg, 0o644, 0, ""},
		"home/nonroot/":                     {tar.TypeDir, 0o755, 65532, ""},
		"tmp/":                              {tar.TypeDir, 0o1777, 0, ""},
		"usr/share/zoneinfo/Europe/Paris":   {tar.TypeReg, 0o644, 0, ""},
		"usr/share/zoneinfo/CET":            {tar.TypeSymlink, 0o777, 0, "Europe/Paris"},
	}
	for name, w := range want {
		if got, ok := layer[name]; !ok || got != w {
			t.Errorf("layer %s: %+v (present %v), want %+v", name, got, ok, w)
		}
	}
	for name := range layer {
		if strings.HasPrefix(name, "bin/") || name == "bin/sh" {
			t.Errorf("the image has %s: no shell belongs in it", name)
		}
	}

	// The same user, entrypoint and command as the Dockerfile.
	df, err := os.ReadFile("../../Dockerfile")
	must(t, err)
	user := regexp.MustCompile(`(?m)^USER\s+(\S+)\s*$`).FindStringSubmatch(string(df))
	ep := regexp.MustCompile(`(?m)^ENTRYPOINT\s+(\[.*\])\s*$`).FindStringSubmatch(string(df))
	cmd := regexp.MustCompile(`(?m)^CMD\s+(\[.*\])\s*$`).FindStringSubmatch(string(df))
	wd := regexp.MustCompile(`(?m)^WORKDIR\s+(\S+)\s*$`).FindAllStringSubmatch(string(df), -1)
	if user == nil || ep == nil || cmd == nil || len(wd) == 0 {
		t.Fatal("the Dockerfile lacks USER, ENTRYPOINT, CMD or WORKDIR")
	}
	var dfEP, dfCmd []string
	must(t, json.Unmarshal([]byte(ep[1]), &dfEP))
	must(t, json.Unmarshal([]byte(cmd[1]), &dfCmd))
	if config.Config.User != user[1] || strings.Join(config.Config.Entrypoint, " ") != strings.Join(dfEP, " ") ||
		strings.Join(config.Config.Cmd, " ") != strings.Join(dfCmd, " ") || config.Config.WorkingDir != wd[len(wd)-1][1] {
		t.Errorf("config runs %q %q as %q in %q; the Dockerfile %q %q as %q in %q", config.Config.Entrypoint, config.Config.Cmd,
			config.Config.User, config.Config.WorkingDir, dfEP, dfCmd, user[1], wd[len(wd)-1][1])
	}
	if config.Architecture != "arm64" || config.OS != "linux" {
		t.Errorf("platform %s/%s, want linux/arm64", config.OS, config.Architecture)
	}
}

func TestRefusesNonELFBinary(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "app.exe")
	must(t, os.WriteFile(bin, []byte("MZ windows"), 0o755))
	err := run([]string{"-binary", bin, "-zoneinfo", dir, "-ca", bin, "-out", filepath.Join(dir, "x.tar")}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "not a Linux (ELF) executable") {
		t.Errorf("got %v", err)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
