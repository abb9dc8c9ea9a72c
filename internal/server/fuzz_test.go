package server_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tasuki-sre/tasuki/internal/metrics"
	"github.com/tasuki-sre/tasuki/internal/server"
)

// FuzzWebhook feeds the intake arbitrary signed and unsigned requests: it must
// never panic, must store only correctly signed requests, and must store
// exactly the body and headers it was given.
func FuzzWebhook(f *testing.F) {
	pr := fixtureNamed(f, "pull_request.opened.1.json")
	f.Add(pr.body, "pull_request", "d-1", true)
	f.Add([]byte(`{"action":7}`), "issues", "d-2", true)
	f.Add([]byte(`{"installation":{"id":"x"}}`), "ping", "d-3", true)
	f.Add([]byte(`{"repository":null,"installation":null}`), "push", "d-4", true)
	f.Add([]byte(`null`), "push", "d-5", true)
	f.Add([]byte(`{}`), "push\n", "d 6", true)
	f.Add([]byte(`{}`), "push", "d-7", false)
	m := metrics.New() // one registry: building one per input dominates the run
	f.Fuzz(func(t *testing.T, body []byte, event, id string, sign bool) {
		q := &server.MemQueue{}
		s, err := server.New(q, testSecret, server.WithMetrics(m))
		if err != nil {
			t.Fatal(err)
		}
		r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		r.Header["X-GitHub-Event"] = []string{event}
		r.Header["X-GitHub-Delivery"] = []string{id}
		if sign {
			r.Header.Set("X-Hub-Signature-256", server.Sign(testSecret, body))
		}
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		got := q.Deliveries()
		switch w.Code {
		case http.StatusAccepted:
			if !sign {
				t.Fatalf("unsigned request accepted")
			}
			if len(got) != 1 || got[0].ID != id || got[0].Event != event || !bytes.Equal(got[0].Payload, body) {
				t.Fatalf("stored %+v for id %q event %q", got, id, event)
			}
		case http.StatusUnauthorized, http.StatusBadRequest:
			if len(got) != 0 {
				t.Fatalf("status %d but stored %d deliveries", w.Code, len(got))
			}
			if !sign && w.Code != http.StatusUnauthorized {
				t.Fatalf("unsigned request answered %d, want 401", w.Code)
			}
		default:
			t.Fatalf("unexpected status %d: %s", w.Code, w.Body)
		}
	})
}

func FuzzVerifySignature(f *testing.F) {
	f.Add([]byte("secret"), []byte(`{"a":1}`), "sha256=00")
	f.Add([]byte("s"), []byte(``), "")
	f.Fuzz(func(t *testing.T, secret, body []byte, header string) {
		if len(secret) == 0 {
			if server.VerifySignature(secret, body, server.Sign(secret, body)) == nil {
				t.Fatal("empty secret verified")
			}
			return
		}
		if err := server.VerifySignature(secret, body, server.Sign(secret, body)); err != nil {
			t.Fatalf("own signature rejected: %v", err)
		}
		if header != server.Sign(secret, body) && len(header) > 0 && header[len(header)-1] != '\n' {
			// Any other header must be refused (hex is case-insensitive, so
			// an upper-case copy of the right signature is allowed).
			if server.VerifySignature(secret, body, header) == nil && !bytes.EqualFold([]byte(header), []byte(server.Sign(secret, body))) {
				t.Fatalf("foreign header %q verified", header)
			}
		}
	})
}
