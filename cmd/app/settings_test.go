package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var (
	keyOnce sync.Once
	keyPEM  []byte
)

// testKey returns a fresh RSA private key in PEM, as GitHub hands out.
func testKey(t testing.TB) []byte {
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keyPEM = pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	})
	return keyPEM
}

func writeFile(t testing.TB, name string, b []byte) string {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStartupSettingErrors(t *testing.T) {
	keyFile := writeFile(t, "app.pem", testKey(t))
	notKey := writeFile(t, "notkey.pem", []byte("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"))
	good := map[string]string{
		"TASUKI_GITHUB_APP_ID":           "12345",
		"TASUKI_GITHUB_PRIVATE_KEY_FILE": keyFile,
		"TASUKI_WEBHOOK_SECRET":          "s3cr3t-webhook",
		"TASUKI_DATABASE_URL":            "sqlite://" + filepath.Join(t.TempDir(), "t.db"),
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range good {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(m, kv[i])
			} else {
				m[kv[i]] = kv[i+1]
			}
		}
		return m
	}
	tests := []struct {
		name  string
		args  []string
		env   map[string]string
		want  string
		never []string // must not be printed
	}{
		{"no webhook secret", []string{"serve"}, with("TASUKI_WEBHOOK_SECRET", ""),
			"tasuki: TASUKI_WEBHOOK_SECRET is not set: set it to the webhook secret of your GitHub App", nil},
		{"no app id", []string{"serve"}, with("TASUKI_GITHUB_APP_ID", ""),
			"tasuki: TASUKI_GITHUB_APP_ID is not set: set it to the App ID shown on your GitHub App's settings page", nil},
		{"app id not a number", []string{"serve"}, with("TASUKI_GITHUB_APP_ID", "tasuki"),
			`tasuki: TASUKI_GITHUB_APP_ID "tasuki" is not an App ID: use the number shown on your GitHub App's settings page`, nil},
		{"app id flag overrides env", []string{"serve", "--app-id", "-3"}, good,
			`tasuki: TASUKI_GITHUB_APP_ID "-3" is not an App ID: use the number shown on your GitHub App's settings page`, nil},
		{"no private key", []string{"serve"}, with("TASUKI_GITHUB_PRIVATE_KEY_FILE", ""),
			"tasuki: TASUKI_GITHUB_PRIVATE_KEY_FILE is not set: set it to the path of your GitHub App's private key (.pem), or put the key in TASUKI_GITHUB_PRIVATE_KEY", nil},
		{"private key file missing", []string{"serve"}, with("TASUKI_GITHUB_PRIVATE_KEY_FILE", "/nonexistent/app.pem"),
			"tasuki: TASUKI_GITHUB_PRIVATE_KEY_FILE: cannot read /nonexistent/app.pem: no such file or directory", nil},
		{"private key file is a certificate", []string{"serve"}, with("TASUKI_GITHUB_PRIVATE_KEY_FILE", notKey),
			"tasuki: TASUKI_GITHUB_PRIVATE_KEY_FILE " + notKey + ` is not a usable private key (PEM block "CERTIFICATE" is not an RSA private key): point it at the PEM file GitHub generated for your App`, nil},
		{"inline private key is garbage", []string{"serve"}, with("TASUKI_GITHUB_PRIVATE_KEY_FILE", "", "TASUKI_GITHUB_PRIVATE_KEY", "hunter2-not-a-key"),
			"tasuki: TASUKI_GITHUB_PRIVATE_KEY is not a usable private key (no PEM block found): set it to the PEM file GitHub generated for your App",
			[]string{"hunter2"}},
		{"both private keys", []string{"serve"}, with("TASUKI_GITHUB_PRIVATE_KEY", string(testKey(t))),
			"tasuki: both TASUKI_GITHUB_PRIVATE_KEY and TASUKI_GITHUB_PRIVATE_KEY_FILE are set: keep one", []string{"PRIVATE KEY-----"}},
		{"api url not http", []string{"serve"}, with("TASUKI_GITHUB_API_URL", "ghe.example.com/api/v3"),
			`tasuki: TASUKI_GITHUB_API_URL "ghe.example.com/api/v3" is not an http(s) URL: use https://api.github.com/ or, for GitHub Enterprise Server, https://HOST/api/v3/`, nil},
		{"api url with credentials", []string{"serve"}, with("TASUKI_GITHUB_API_URL", "https://x-access-token:ghp_s3cret@ghe.example.com/api/v3/"),
			"tasuki: TASUKI_GITHUB_API_URL must not carry credentials (https://REDACTED@ghe.example.com/api/v3/): the App authenticates with its key",
			[]string{"ghp_s3cret"}},
		{"api url with a token as user", []string{"serve"}, with("TASUKI_GITHUB_API_URL", "https://ghp_t0ken@ghe.example.com/api/v3/"),
			"tasuki: TASUKI_GITHUB_API_URL must not carry credentials (https://REDACTED@ghe.example.com/api/v3/): the App authenticates with its key",
			[]string{"ghp_t0ken"}},
		{"database url unknown", []string{"serve"}, with("TASUKI_DATABASE_URL", "mysql://tasuki:pa55word@db/tasuki"),
			`tasuki: TASUKI_DATABASE_URL "mysql://tasuki:REDACTED@db/tasuki" is not a database URL: use sqlite://PATH (e.g. sqlite://tasuki.db) or postgres://USER:PASSWORD@HOST:5432/DB`,
			[]string{"pa55word"}},
		{"listen without port", []string{"serve"}, with("TASUKI_LISTEN", "8080"),
			`tasuki: TASUKI_LISTEN "8080" is not a listen address: use HOST:PORT or :PORT, e.g. :8080`, nil},
		{"tfc address not https", []string{"serve"}, with("TASUKI_TFC_ADDRESSES", "http://tfe.internal"),
			`tasuki: TASUKI_TFC_ADDRESSES: "http://tfe.internal" is not an https:// address, e.g. https://app.terraform.io`, nil},
		{"log level", []string{"serve"}, with("TASUKI_LOG_LEVEL", "verbose"),
			`tasuki: TASUKI_LOG_LEVEL "verbose" is not a log level: use debug, info, warn or error`, nil},
		{"deliveries list needs no secret but a database", []string{"deliveries", "list"}, map[string]string{"TASUKI_DATABASE_URL": "postgres://"},
			`tasuki: TASUKI_DATABASE_URL "postgres://" is not a database URL: use sqlite://PATH (e.g. sqlite://tasuki.db) or postgres://USER:PASSWORD@HOST:5432/DB`, nil},
		{"redeliver needs the app id", []string{"redeliver", "--dry-run"}, with("TASUKI_GITHUB_APP_ID", ""),
			"tasuki: TASUKI_GITHUB_APP_ID is not set: set it to the App ID shown on your GitHub App's settings page", nil},
		{"unknown deliveries state", []string{"deliveries", "list", "--state", "stuck"}, good,
			`tasuki: --state "stuck": use pending, running, done or failed`, nil},
		{"retry without id", []string{"deliveries", "retry"}, good,
			"tasuki: usage: app deliveries retry DELIVERY_ID", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &stdout, &stderr)
			if code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if got := strings.TrimSuffix(stderr.String(), "\n"); got != tt.want {
				t.Errorf("stderr:\n got %q\nwant %q", got, tt.want)
			}
			for _, secret := range append(tt.never, "s3cr3t-webhook") {
				if strings.Contains(stdout.String()+stderr.String(), secret) {
					t.Errorf("output contains %q", secret)
				}
			}
		})
	}
}

func TestUnknownCommand(t *testing.T) {
	for _, args := range [][]string{nil, {"serv"}, {"deliveries", "purge"}} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
		if code != 2 {
			t.Errorf("%q: exit status %d, want 2", args, code)
		}
		if !strings.Contains(stderr.String(), "usage") && !strings.Contains(stderr.String(), "use list or retry") {
			t.Errorf("%q: no usage on stderr: %q", args, stderr.String())
		}
	}
}

func TestSettingsParsed(t *testing.T) {
	key := testKey(t)
	flat := strings.ReplaceAll(string(key), "\n", `\n`) // as some secret stores hand it over
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want settings
	}{
		{
			name: "defaults",
			env:  map[string]string{"TASUKI_GITHUB_APP_ID": "7", "TASUKI_GITHUB_PRIVATE_KEY": string(key), "TASUKI_WEBHOOK_SECRET": "s"},
			want: settings{AppID: 7, APIURL: "https://api.github.com/", DatabaseURL: "sqlite://tasuki.db", Listen: ":8080",
				ShutdownTimeout: 30 * time.Second, JobTimeout: 5 * time.Minute, RedeliverEvery: 30 * time.Minute,
				RedeliverWindow: 24 * time.Hour, Workers: 10, LogLevel: "info", TFCAddresses: []string{"https://app.terraform.io"}},
		},
		{
			name: "GHES URL without trailing slash, flattened key, flags",
			env: map[string]string{"TASUKI_GITHUB_APP_ID": "7", "TASUKI_GITHUB_PRIVATE_KEY": flat, "TASUKI_WEBHOOK_SECRET": "s",
				"TASUKI_GITHUB_API_URL": "https://ghe.example.com/api/v3", "TASUKI_DATABASE_URL": "postgres://tasuki@db:5432/tasuki",
				"TASUKI_TFC_HMAC_KEY": "k", "TASUKI_LOG_LEVEL": "DEBUG", "TASUKI_TFC_ADDRESSES": "https://tfe.example.com, https://app.terraform.io"},
			args: []string{"--listen", "127.0.0.1:9000", "--workers", "3", "--redeliver-every", "0", "--shutdown-timeout", "5s"},
			want: settings{AppID: 7, APIURL: "https://ghe.example.com/api/v3/", DatabaseURL: "postgres://tasuki@db:5432/tasuki",
				Listen: "127.0.0.1:9000", TFCHMACKey: []byte("k"), ShutdownTimeout: 5 * time.Second, JobTimeout: 5 * time.Minute,
				RedeliverWindow: 24 * time.Hour, Workers: 3, LogLevel: "debug", TFCAddresses: []string{"https://tfe.example.com", "https://app.terraform.io"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("serve", flag.ContinueOnError)
			load := commonFlags(fs, func(k string) string { return tt.env[k] }, need{github: true, webhook: true})
			if err := fs.Parse(tt.args); err != nil {
				t.Fatal(err)
			}
			got, err := load()
			if err != nil {
				t.Fatal(err)
			}
			if string(got.PrivateKey) != string(key) {
				t.Errorf("private key not read back intact")
			}
			if string(got.WebhookSecret) != "s" {
				t.Errorf("webhook secret %q", got.WebhookSecret)
			}
			got.PrivateKey, got.WebhookSecret = nil, nil
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("settings (-want +got):\n%s", diff)
			}
		})
	}
}
