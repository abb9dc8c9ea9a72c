package githubtest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"strings"
)

// conditional answers conditional GETs as GitHub does: every 200 answer to
// a GET carries an ETag (a hash of its body, unless the route set its own,
// as contents does), and a request whose If-None-Match names the current
// ETag gets 304 Not Modified without a body, which does not spend the rate
// limit. It returns the answer to send.
func (s *Server) conditional(rc *reqCtx, rec *httptest.ResponseRecorder) *httptest.ResponseRecorder {
	if rc.r.Method != http.MethodGet || rec.Code != http.StatusOK {
		return rec
	}
	etag := rec.Header().Get("ETag")
	if etag == "" {
		sum := sha256.Sum256(rec.Body.Bytes())
		etag = `W/"` + hex.EncodeToString(sum[:16]) + `"`
		rec.Header().Set("ETag", etag)
	}
	if !etagMatches(rc.r.Header.Get("If-None-Match"), etag) {
		return rec
	}
	out := httptest.NewRecorder()
	for k, v := range rec.Header() {
		if k != "Content-Type" && k != "Content-Length" {
			out.Header()[k] = v
		}
	}
	s.mu.Lock()
	rc.w = out
	rc.refund()
	s.mu.Unlock()
	out.WriteHeader(http.StatusNotModified)
	rc.status = http.StatusNotModified
	return out
}

// etagMatches reports whether an If-None-Match header names etag (weak
// comparison, as GitHub makes it).
func etagMatches(header, etag string) bool {
	if header == "" {
		return false
	}
	if strings.TrimSpace(header) == "*" {
		return true
	}
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		if strings.TrimPrefix(strings.TrimSpace(t), "W/") == want {
			return true
		}
	}
	return false
}
