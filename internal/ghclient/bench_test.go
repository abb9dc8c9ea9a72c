package ghclient_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/ghclient"
	"github.com/tasuki-sre/tasuki/internal/githubtest"
)

// BenchmarkConfigRead reads a 20 KB .github/tasuki.yml repeatedly through an
// installation client, with and without the ETag cache, and reports the
// rate limit points spent per read.
func BenchmarkConfigRead(b *testing.B) {
	for _, tc := range []struct {
		name string
		opts []ghclient.Option
	}{
		{"etag", nil},
		{"no-cache", []ghclient.Option{ghclient.WithETagCache(0)}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			srv := githubtest.New(b)
			srv.AddRepo("acme/api", "main")
			srv.PutFile("acme/api", "main", ".github/tasuki.yml", bytes.Repeat([]byte("# comment line\n"), 1400))
			opts := append([]ghclient.Option{ghclient.WithTransport(srv.HTTPClient().Transport)}, tc.opts...)
			cs, err := ghclient.New(ghclient.Config{AppID: 1, PrivateKeyPEM: githubtest.AppKey(), BaseURL: srv.URL()}, opts...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			c, _ := cs.Client(ctx, 1)
			var first, last int
			b.ReportAllocs()
			n := 0
			for b.Loop() {
				_, _, resp, err := c.Repositories.GetContents(ctx, "acme", "api", ".github/tasuki.yml", &github.RepositoryContentGetOptions{Ref: "main"})
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					first = resp.Rate.Remaining
				}
				last = resp.Rate.Remaining
				n++
			}
			if n > 1 {
				b.ReportMetric(float64(first-last)/float64(n-1), "ratepoints/op")
			}
		})
	}
}
