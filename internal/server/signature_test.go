package server_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/server"
)

// TestWebhookSecretRotation: while TASUKI_WEBHOOK_SECRET_PREVIOUS is set, a
// delivery signed with either the new or the previous secret is stored, and
// one signed with any other secret is refused, so changing the secret in the
// App's settings drops no delivery.
func TestWebhookSecretRotation(t *testing.T) {
	previous, current, other := []byte("old-secret"), []byte("new-secret"), []byte("someone-else")
	body := []byte(`{"action":"opened","repository":{"full_name":"acme/infra","id":1}}`)
	signed := func(id string, secret []byte) *http.Request {
		r := delivery(id, "pull_request", body)
		r.Header.Set("X-Hub-Signature-256", server.Sign(secret, body))
		return r
	}
	tests := []struct {
		name     string
		previous []byte
		secret   []byte
		code     int
	}{
		{"current secret", previous, current, 202},
		{"previous secret", previous, previous, 202},
		{"another secret", previous, other, 401},
		{"previous secret after the rotation", nil, previous, 401},
		{"current secret after the rotation", nil, current, 202},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &server.MemQueue{}
			s, err := server.New(q, current, server.WithPreviousSecret(tt.previous))
			if err != nil {
				t.Fatal(err)
			}
			w := httptest.NewRecorder()
			s.ServeHTTP(w, signed("d-1", tt.secret))
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			var ids []string
			for _, d := range q.Deliveries() {
				ids = append(ids, d.ID)
			}
			var want []string
			if tt.code == 202 {
				want = []string{"d-1"}
			}
			if diff := cmp.Diff(want, ids); diff != "" {
				t.Errorf("stored (-want +got):\n%s", diff)
			}
			if tt.code == 401 && !strings.Contains(w.Body.String(), server.ErrBadSignature.Error()) {
				t.Errorf("refusal %q does not say %q", w.Body, server.ErrBadSignature)
			}
		})
	}
}

// TestVerifySignature covers the contract of VerifySignature itself.
func TestVerifySignature(t *testing.T) {
	secret, body := []byte("s3cret"), []byte(`{}`)
	tests := []struct {
		name   string
		secret []byte
		header string
		want   error
	}{
		{"valid", secret, server.Sign(secret, body), nil},
		{"other secret", secret, server.Sign([]byte("other"), body), server.ErrBadSignature},
		{"missing", secret, "", server.ErrNoSignature},
		{"sha1", secret, "sha1=" + strings.Repeat("0", 40), server.ErrMalformedSignature},
		{"short", secret, "sha256=00", server.ErrMalformedSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := server.VerifySignature(tt.secret, body, tt.header); !errors.Is(err, tt.want) {
				t.Errorf("VerifySignature = %v, want %v", err, tt.want)
			}
		})
	}
	if err := server.VerifySignature(nil, body, server.Sign(nil, body)); err == nil {
		t.Error("an empty secret verified a delivery")
	}
}
