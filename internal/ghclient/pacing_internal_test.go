package ghclient

import (
	"net/http"
	"strings"
	"testing"
)

func TestContentCreating(t *testing.T) {
	tests := []struct {
		method, url, body string
		want              bool
	}{
		{"POST", "https://api.github.com/repos/acme/api/issues/1/comments", `{"body":"x"}`, true},
		{"PATCH", "https://ghe.example.com/api/v3/repos/acme/api/check-runs/5", `{}`, true},
		{"PUT", "https://api.github.com/repos/acme/api/issues/1/labels", `[]`, true},
		{"DELETE", "https://api.github.com/repos/acme/api/issues/1/labels/sev1", ``, true},
		{"GET", "https://api.github.com/repos/acme/api", ``, false},
		// Minting a token creates no content; the write it precedes counts.
		{"POST", "https://ghe.example.com/api/v3/app/installations/7/access_tokens", ``, false},
		// GraphQL reads are POSTs too.
		{"POST", "https://api.github.com/graphql", `{"query":"query { viewer { login } }"}`, false},
		{"POST", "https://ghe.example.com/api/graphql", `{"query":"{ viewer { login } }"}`, false},
		{"POST", "https://api.github.com/graphql", `{"query":"# note\n  mutation { addComment(input: {}) { clientMutationId } }"}`, true},
		{"POST", "https://api.github.com/graphql", `not json`, true},
	}
	for _, tt := range tests {
		req, err := http.NewRequest(tt.method, tt.url, strings.NewReader(tt.body))
		if err != nil {
			t.Fatal(err)
		}
		if got := contentCreating(req); got != tt.want {
			t.Errorf("%s %s %s: content-creating = %v, want %v", tt.method, tt.url, tt.body, got, tt.want)
		}
	}
}
