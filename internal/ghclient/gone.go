package ghclient

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/bradleyfalzon/ghinstallation/v2"
)

// ErrInstallationGone means GitHub will not mint a token for the
// installation a request acts for: the App was uninstalled from that account
// (404) or the installation is suspended (403 "This installation has been
// suspended"). No retry can succeed until the account installs or
// unsuspends the App again, so a job that gets it should give up at once.
// Check it with errors.Is; the error also wraps ghinstallation's
// *HTTPError.
var ErrInstallationGone = errors.New("the GitHub App installation was removed or suspended: retrying cannot help")

// installationGoneError is ErrInstallationGone for one installation.
type installationGoneError struct {
	id     int64
	reason string // "was removed" or "is suspended"
	status string // GitHub's status line, e.g. "404 Not Found"
	err    error  // ghinstallation's error
}

func (e *installationGoneError) Error() string {
	return fmt.Sprintf("installation %d %s (GitHub answered %s to POST /app/installations/%d/access_tokens): %v",
		e.id, e.reason, e.status, e.id, ErrInstallationGone)
}

func (e *installationGoneError) Unwrap() []error { return []error{ErrInstallationGone, e.err} }

// Permanent reports true: the job worker gives up on an error with this
// method (see dispatch.IsPermanent) instead of retrying it.
func (e *installationGoneError) Permanent() bool { return true }

// goneTransport sits above ghinstallation's installation transport and turns
// a refused token request into ErrInstallationGone. ghinstallation reports
// it as an *HTTPError whose response body is left unread and open.
type goneTransport struct {
	next http.RoundTripper
	id   int64
}

func (t *goneTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, installationGone(t.id, err)
	}
	return resp, nil
}

// maxErrorBody bounds how much of a token error's body is read.
const maxErrorBody = 64 << 10

// installationGone returns err, or an error that is also
// ErrInstallationGone when err is a token request that GitHub refused
// because the installation is removed or suspended. It closes the body of a
// refused token request.
func installationGone(id int64, err error) error {
	var he *ghinstallation.HTTPError
	if !errors.As(err, &he) || he.Response == nil || he.Response.Body == nil {
		return err
	}
	resp := he.Response
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return &installationGoneError{id: id, reason: "was removed", status: resp.Status, err: err}
	case resp.StatusCode == http.StatusForbidden && !rateLimited(resp) && suspended(body):
		return &installationGoneError{id: id, reason: "is suspended", status: resp.Status, err: err}
	}
	return err
}

// rateLimited reports whether a 403 is one of GitHub's rate limits, which
// pass with time.
func rateLimited(resp *http.Response) bool {
	return resp.Header.Get("Retry-After") != "" || resp.Header.Get("X-RateLimit-Remaining") == "0"
}

// suspended reports whether a 403's body says the installation is
// suspended ("This installation has been suspended"). Other 403s (an IP
// allow list, missing permissions) are not about the installation's
// existence.
func suspended(body []byte) bool {
	var e struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(body, &e) != nil {
		return false
	}
	return strings.Contains(strings.ToLower(e.Message), "suspended")
}
