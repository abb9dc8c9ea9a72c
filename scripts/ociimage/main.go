// Command ociimage assembles tasuki's container image without Docker or a
// registry: the layout the Dockerfile's final stage has (a static `app`
// binary, CA certificates, time zone data, the user nonroot 65532, no
// shell), written as an OCI image archive that `podman load` reads. It is
// a tool for proving the image where Docker cannot run (docs/operations.md),
// not part of what tasuki ships.
//
//	CGO_ENABLED=0 go build -trimpath -o /tmp/app ./cmd/app
//	go run ./scripts/ociimage -binary /tmp/app -tag tasuki:dev -out /tmp/tasuki.oci.tar
//	podman load -i /tmp/tasuki.oci.tar
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"time"
)

// The user and paths of the Dockerfile's final stage.
const (
	nonrootUID = 65532
	binaryPath = "usr/local/bin/app"
	caPath     = "etc/ssl/certs/ca-certificates.crt"
	zonePath   = "usr/share/zoneinfo"
	homePath   = "home/nonroot"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "ociimage: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("ociimage", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("binary", "", "the static app binary (CGO_ENABLED=0 go build ./cmd/app)")
	ca := fs.String("ca", "/etc/ssl/certs/ca-certificates.crt", "CA certificate bundle to copy in")
	zoneinfo := fs.String("zoneinfo", "/usr/share/zoneinfo", "time zone database directory to copy in")
	tag := fs.String("tag", "tasuki:dev", "name:tag the image is loaded as")
	arch := fs.String("arch", runtime.GOARCH, "the binary's architecture (amd64, arm64)")
	out := fs.String("out", "tasuki.oci.tar", "OCI image archive to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *binary == "" {
		return errors.New("-binary is required")
	}
	img, err := build(*binary, *ca, *zoneinfo, *arch)
	if err != nil {
		return err
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	if err := img.writeArchive(f, *tag); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", *out, err)
	}
	if err := f.Close(); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "wrote %s: %s, manifest %s\n", *out, *tag, img.manifestDigest)
	return nil
}

// image is an assembled image: its blobs by digest and the manifest's.
type image struct {
	blobs          map[string][]byte
	manifest       []byte
	manifestDigest string
}

func digest(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// epoch is every file's time, so that the same inputs give the same image.
var epoch = time.Unix(0, 0).UTC()

func build(binary, ca, zoneinfo, arch string) (*image, error) {
	var layer bytes.Buffer
	diff := sha256.New()
	gz := gzip.NewWriter(&layer)
	tw := tar.NewWriter(io.MultiWriter(gz, diff))

	dir := func(name string, mode int64, uid int) error {
		return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: mode, Uid: uid, Gid: uid, ModTime: epoch, Format: tar.FormatPAX})
	}
	file := func(name string, mode int64, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(body)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	for _, d := range []string{"etc", "etc/ssl", "etc/ssl/certs", "home", "usr", "usr/local", "usr/local/bin", "usr/share"} {
		if err := dir(d, 0o755, 0); err != nil {
			return nil, err
		}
	}
	if err := dir(homePath, 0o755, nonrootUID); err != nil {
		return nil, err
	}
	if err := dir("tmp", 0o1777, 0); err != nil {
		return nil, err
	}
	if err := file("etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")); err != nil {
		return nil, err
	}
	if err := file("etc/group", 0o644, []byte("root:x:0:\nnonroot:x:65532:\n")); err != nil {
		return nil, err
	}
	caBody, err := os.ReadFile(ca)
	if err != nil {
		return nil, fmt.Errorf("CA bundle: %w", err)
	}
	if err := file(caPath, 0o644, caBody); err != nil {
		return nil, err
	}
	if err := addTree(tw, zoneinfo, zonePath); err != nil {
		return nil, fmt.Errorf("zoneinfo: %w", err)
	}
	bin, err := os.ReadFile(binary)
	if err != nil {
		return nil, fmt.Errorf("binary: %w", err)
	}
	if len(bin) < 4 || string(bin[:4]) != "\x7fELF" {
		return nil, fmt.Errorf("binary %s is not a Linux (ELF) executable", binary)
	}
	if err := file(binaryPath, 0o755, bin); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	if err := gz.Close(); err != nil {
		return nil, err
	}

	img := &image{blobs: map[string][]byte{}}
	layerBlob := layer.Bytes()
	layerDigest := digest(layerBlob)
	img.blobs[layerDigest] = layerBlob

	config := map[string]any{
		"architecture": arch,
		"os":           "linux",
		"created":      epoch.Format(time.RFC3339),
		"config": map[string]any{
			"User":         fmt.Sprintf("%d:%d", nonrootUID, nonrootUID),
			"Env":          []string{"PATH=/usr/local/bin", "SSL_CERT_FILE=/" + caPath, "ZONEINFO=/" + zonePath},
			"Entrypoint":   []string{"/" + binaryPath},
			"Cmd":          []string{"serve"},
			"WorkingDir":   "/" + homePath,
			"ExposedPorts": map[string]any{"8080/tcp": map[string]any{}},
		},
		"rootfs":  map[string]any{"type": "layers", "diff_ids": []string{"sha256:" + hex.EncodeToString(diff.Sum(nil))}},
		"history": []map[string]any{{"created": epoch.Format(time.RFC3339), "created_by": "scripts/ociimage"}},
	}
	configBlob, err := json.Marshal(config)
	if err != nil {
		return nil, err
	}
	configDigest := digest(configBlob)
	img.blobs[configDigest] = configBlob

	manifest := map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.manifest.v1+json",
		"config":        map[string]any{"mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": len(configBlob)},
		"layers":        []map[string]any{{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layerDigest, "size": len(layerBlob)}},
	}
	if img.manifest, err = json.Marshal(manifest); err != nil {
		return nil, err
	}
	img.manifestDigest = digest(img.manifest)
	img.blobs[img.manifestDigest] = img.manifest
	return img, nil
}

// addTree copies the directory src into the layer at dst: directories,
// regular files and symbolic links (zoneinfo has links), in sorted order.
func addTree(tw *tar.Writer, src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		name := filepath.ToSlash(filepath.Join(dst, rel))
		info, err := os.Lstat(p)
		if err != nil {
			return err
		}
		switch {
		case info.IsDir():
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name + "/", Mode: 0o755, ModTime: epoch, Format: tar.FormatPAX})
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return tw.WriteHeader(&tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch, Format: tar.FormatPAX})
		case info.Mode().IsRegular():
			body, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: epoch, Format: tar.FormatPAX}); err != nil {
				return err
			}
			_, err = tw.Write(body)
			return err
		}
		return nil // sockets and devices have no place in an image
	})
}

// writeArchive writes the image as an OCI image layout in a tar archive
// (what `podman load` and `skopeo copy oci-archive:` read).
func (img *image) writeArchive(w io.Writer, tag string) error {
	tw := tar.NewWriter(w)
	put := func(name string, body []byte) error {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: epoch}); err != nil {
			return err
		}
		_, err := tw.Write(body)
		return err
	}
	if err := put("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	index, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.oci.image.index.v1+json",
		"manifests": []map[string]any{{
			"mediaType":   "application/vnd.oci.image.manifest.v1+json",
			"digest":      img.manifestDigest,
			"size":        len(img.manifest),
			"annotations": map[string]string{"org.opencontainers.image.ref.name": tag},
		}},
	})
	if err != nil {
		return err
	}
	if err := put("index.json", index); err != nil {
		return err
	}
	digests := make([]string, 0, len(img.blobs))
	for d := range img.blobs {
		digests = append(digests, d)
	}
	sort.Strings(digests)
	for _, d := range digests {
		if err := put("blobs/sha256/"+d[len("sha256:"):], img.blobs[d]); err != nil {
			return err
		}
	}
	return tw.Close()
}
