package ghclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/bradleyfalzon/ghinstallation/v2"
	"github.com/google/go-github/v60/github"

	"github.com/tasuki-sre/tasuki/internal/dispatch"
)

// Action is what to do about a failed GitHub request.
type Action int

const (
	// Retry means try again after the caller's own backoff: server errors,
	// network failures, and every error Classify does not recognise.
	Retry Action = iota
	// Wait means try again at Decision.At and not sooner. Waiting is not a
	// failure: GitHub asked for it (a rate limit).
	Wait
	// GiveUp means no retry can succeed: the installation was removed or
	// suspended, or tasuki cannot see the repository.
	GiveUp
)

func (a Action) String() string {
	switch a {
	case Retry:
		return "retry"
	case Wait:
		return "wait"
	case GiveUp:
		return "give up"
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Decision is Classify's verdict on an error.
type Decision struct {
	Action Action
	At     time.Time // for Wait: when GitHub takes requests again
	Reason string    // for logs: "primary rate limit", "server error 502", ...
}

// secondaryWait is how long to wait out a limit whose answer says not when:
// GitHub asks for "at least one minute" then.
const secondaryWait = time.Minute

// Classify decides what to do about err, an error from a GitHub client
// ghclient made (REST or GraphQL), anywhere in err's chain:
//
//   - a primary rate limit (403 or 429 with X-RateLimit-Remaining: 0, and
//     go-github's *RateLimitError) waits until X-RateLimit-Reset;
//   - a secondary limit (403 or 429 with Retry-After, or GitHub's
//     secondary-limit message, and go-github's *AbuseRateLimitError) waits
//     Retry-After, or a minute when GitHub does not say;
//   - a plain 429 waits a minute;
//   - a GraphQL RATE_LIMITED answer waits until the reset when the answer
//     says it, else a minute;
//   - ErrInstallationGone, a 404 for GET /repos/{owner}/{repo} and a GraphQL
//     "Could not resolve to a Repository" give up, as does an error marked
//     dispatch.Permanent;
//   - 5xx answers, network errors and everything else are retried.
//
// An error joining several (errors.Join) waits if any part waits (until the
// latest time), gives up if every part gives up, and is retried otherwise.
// Classify(nil) is the zero Decision.
func Classify(err error) Decision {
	return classify(err, time.Now())
}

// RetryAt reports when a request refused for rate limiting may be tried
// again: Classify's time when it decides to Wait. ok is false for any other
// error.
func RetryAt(err error) (time.Time, bool) {
	d := Classify(err)
	return d.At, d.Action == Wait
}

// Error is a GitHub error with Classify's decision about it. It has the
// methods package dispatch reads, Permanent and RetryAt, so the job worker
// acts on the decision without knowing go-github; errors.Is and errors.As
// still reach the error it wraps (a *github.ErrorResponse, say).
type Error struct {
	Decision Decision
	Err      error
}

func (e *Error) Error() string { return e.Err.Error() }

// Unwrap returns the classified error.
func (e *Error) Unwrap() error { return e.Err }

// Permanent reports whether the decision is to give up (dispatch.IsPermanent).
func (e *Error) Permanent() bool { return e.Decision.Action == GiveUp }

// RetryAt is when to try again if the decision is to wait, and otherwise
// the zero time (dispatch.RetryAt).
func (e *Error) RetryAt() time.Time {
	if e.Decision.Action != Wait {
		return time.Time{}
	}
	return e.Decision.At
}

// Wrap returns err as an *Error carrying Classify's decision, for callers
// that hand GitHub errors to something that must not know go-github (the
// job worker reads them through dispatch.IsPermanent and dispatch.RetryAt).
// Wrap(nil) is nil; an error already wrapped is returned as it is.
func Wrap(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(*Error); ok {
		return err
	}
	return &Error{Decision: Classify(err), Err: err}
}

// Dispatcher runs one stored delivery: the job worker's view of
// *dispatch.Router.
type Dispatcher interface {
	Dispatch(ctx context.Context, d dispatch.Delivery) error
}

// ClassifyErrors returns d with its errors passed through Wrap. Put it
// between the router and the job worker so that GitHub's rate limits snooze
// the job until they reset and a vanished installation or repository fails
// it at once, whatever handler got them.
func ClassifyErrors(d Dispatcher) Dispatcher { return classifying{d} }

type classifying struct{ next Dispatcher }

func (c classifying) Dispatch(ctx context.Context, d dispatch.Delivery) error {
	return Wrap(c.next.Dispatch(ctx, d))
}

func classify(err error, now time.Time) Decision {
	if err == nil {
		return Decision{}
	}
	for e := err; e != nil; {
		if d, ok := classifyOne(e, now); ok {
			return d
		}
		if j, ok := e.(interface{ Unwrap() []error }); ok {
			return combine(j.Unwrap(), now)
		}
		e = errors.Unwrap(e)
	}
	var ue interface{ Timeout() bool } // *url.Error, net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return Decision{Action: Retry, Reason: "cancelled or timed out"}
	case errors.As(err, &ue):
		return Decision{Action: Retry, Reason: "network error"}
	}
	return Decision{Action: Retry, Reason: "unrecognised error"}
}

// combine decides for the parts of a joined error.
func combine(errs []error, now time.Time) Decision {
	out := Decision{Action: Retry, Reason: "some errors pass with retries"}
	giveUp := len(errs) > 0
	var gaveUp Decision
	for _, e := range errs {
		d := classify(e, now)
		switch d.Action {
		case Wait:
			if out.Action != Wait || d.At.After(out.At) {
				out = d
			}
		case GiveUp:
			gaveUp = d
			continue
		}
		giveUp = false
	}
	if out.Action == Wait {
		return out
	}
	if giveUp {
		return gaveUp
	}
	return out
}

// classifyOne decides for one error of a chain, if it is one Classify
// knows; ok is false to look further down the chain.
func classifyOne(e error, now time.Time) (Decision, bool) {
	switch v := e.(type) {
	case *Error:
		return v.Decision, true
	case *installationGoneError:
		return Decision{Action: GiveUp, Reason: "installation " + v.reason}, true
	case *github.RateLimitError:
		return Decision{Action: Wait, At: resetOr(v.Rate.Reset.Time, now), Reason: "primary rate limit"}, true
	case *github.AbuseRateLimitError:
		// GitHub's Retry-After when it answered; else go-github's
		// RetryAfter, which it also sets when it refuses to send (it
		// remembers a secondary limit per client).
		if v.Response != nil {
			if at, ok := parseRetryAfter(v.Response.Header.Get("Retry-After"), now); ok {
				return Decision{Action: Wait, At: at, Reason: "secondary rate limit (Retry-After)"}, true
			}
		}
		at := now.Add(secondaryWait)
		if v.RetryAfter != nil && *v.RetryAfter > 0 {
			at = now.Add(*v.RetryAfter)
		}
		return Decision{Action: Wait, At: at, Reason: "secondary rate limit"}, true
	case *github.ErrorResponse:
		return fromResponse(v.Response, v.Message, v.DocumentationURL, now)
	case *github.AcceptedError:
		return Decision{Action: Retry, Reason: "GitHub is still computing the answer (202)"}, true
	case *ghinstallation.HTTPError:
		// A token request GitHub refused for another reason than a gone
		// installation (goneTransport turned those into
		// installationGoneError): a rate limit of the App, a 5xx.
		return fromResponse(v.Response, "", "", now)
	case *graphQLError:
		return v.decide(now), true
	}
	if p, ok := e.(interface{ Permanent() bool }); ok && p.Permanent() {
		return Decision{Action: GiveUp, Reason: "permanent error"}, true
	}
	if r, ok := e.(interface{ RetryAt() time.Time }); ok && !r.RetryAt().IsZero() {
		return Decision{Action: Wait, At: r.RetryAt(), Reason: "asked to retry later"}, true
	}
	return fromGraphQLText(e, now)
}

// fromResponse decides on GitHub's HTTP answer resp, whose JSON body said
// msg and docURL. GitHub's documented order: Retry-After, then
// X-RateLimit-Remaining: 0 with its reset, then at least a minute.
func fromResponse(resp *http.Response, msg, docURL string, now time.Time) (Decision, bool) {
	if resp == nil {
		return Decision{}, false
	}
	status, h := resp.StatusCode, resp.Header
	switch {
	case status == http.StatusForbidden || status == http.StatusTooManyRequests:
		if at, ok := parseRetryAfter(h.Get("Retry-After"), now); ok {
			return Decision{Action: Wait, At: at, Reason: "secondary rate limit (Retry-After)"}, true
		}
		if h.Get("X-RateLimit-Remaining") == "0" {
			return Decision{Action: Wait, At: resetOr(unixHeader(h.Get("X-RateLimit-Reset")), now), Reason: "primary rate limit"}, true
		}
		if secondaryMessage(msg, docURL) {
			return Decision{Action: Wait, At: now.Add(secondaryWait), Reason: "secondary rate limit"}, true
		}
		if strings.HasPrefix(strings.ToLower(msg), "api rate limit") {
			return Decision{Action: Wait, At: resetOr(unixHeader(h.Get("X-RateLimit-Reset")), now), Reason: "primary rate limit"}, true
		}
		if status == http.StatusTooManyRequests {
			return Decision{Action: Wait, At: now.Add(secondaryWait), Reason: "too many requests (429)"}, true
		}
		return Decision{Action: Retry, Reason: "forbidden (403)"}, true
	case status >= 500:
		return Decision{Action: Retry, Reason: "server error " + strconv.Itoa(status)}, true
	case status == http.StatusNotFound && repositoryRequest(resp.Request):
		return Decision{Action: GiveUp, Reason: "repository not found or not visible to tasuki"}, true
	}
	return Decision{Action: Retry, Reason: "GitHub answered " + strconv.Itoa(status)}, true
}

// secondaryMessage recognises GitHub's secondary rate limit answer by its
// message ("You have exceeded a secondary rate limit", formerly "You have
// triggered an abuse detection mechanism") or its documentation link.
func secondaryMessage(msg, docURL string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "secondary rate limit") || strings.Contains(m, "abuse detection") ||
		strings.HasSuffix(docURL, "secondary-rate-limits") || strings.HasSuffix(docURL, "#abuse-rate-limits")
}

// repositoryRequest reports whether req asked for a repository itself
// (GET /repos/{owner}/{repo}): a 404 there means tasuki cannot see it. A 404
// on anything below it (a file, an issue) says nothing about the
// repository, and a new issue can lag behind its webhook.
func repositoryRequest(req *http.Request) bool {
	if req == nil || req.URL == nil || req.Method != http.MethodGet {
		return false
	}
	p := req.URL.Path
	if i := strings.Index(p, "/api/v3/"); i >= 0 {
		p = p[i+len("/api/v3"):]
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	return len(segs) == 3 && segs[0] == "repos" && segs[1] != "" && segs[2] != ""
}

// parseRetryAfter reads a Retry-After header: seconds, or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Time, bool) {
	if v == "" {
		return time.Time{}, false
	}
	if s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64); err == nil && s >= 0 {
		return now.Add(time.Duration(s) * time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t, true
	}
	return time.Time{}, false
}

func unixHeader(v string) time.Time {
	s, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || s <= 0 {
		return time.Time{}
	}
	return time.Unix(s, 0)
}

// resetOr is the reset time GitHub gave, or a minute from now when it gave
// none.
func resetOr(reset, now time.Time) time.Time {
	if reset.IsZero() {
		return now.Add(secondaryWait)
	}
	return reset
}

// graphQLPackage is where githubv4's answers come from when they did not go
// through ghclient's GraphQL transport (a client made elsewhere): its error
// types are unexported and keep only GitHub's message.
const graphQLPackage = "github.com/shurcooL/graphql"

// fromGraphQLText recognises githubv4's errors by their text: the GraphQL
// errors of an answer (only the first message survives), or
// "non-200 OK status code: 403 Forbidden body: ...".
func fromGraphQLText(e error, now time.Time) (Decision, bool) {
	msg := e.Error()
	if t := reflect.TypeOf(e); t != nil && t.PkgPath() == graphQLPackage {
		return fromGraphQLMessage("", msg, now)
	}
	rest, ok := strings.CutPrefix(msg, "non-200 OK status code: ")
	if !ok {
		return Decision{}, false
	}
	code, _, _ := strings.Cut(rest, " ")
	status, err := strconv.Atoi(code)
	if err != nil {
		return Decision{}, false
	}
	resp := &http.Response{StatusCode: status, Header: http.Header{}}
	return fromResponse(resp, rest, "", now)
}

// fromGraphQLMessage decides on one GraphQL error of type typ (empty when
// unknown) saying msg.
func fromGraphQLMessage(typ, msg string, now time.Time) (Decision, bool) {
	m := strings.ToLower(msg)
	switch {
	case typ == "RATE_LIMITED" || typ == "RATE_LIMIT" || strings.HasPrefix(m, "api rate limit"):
		return Decision{Action: Wait, At: now.Add(secondaryWait), Reason: "GraphQL rate limit"}, true
	case strings.HasPrefix(msg, "Could not resolve to a Repository"):
		return Decision{Action: GiveUp, Reason: "repository not found or not visible to tasuki"}, true
	case typ != "":
		return Decision{Action: Retry, Reason: "GraphQL error " + typ}, true
	}
	return Decision{}, false
}

// graphQLError is an answer of the GraphQL endpoint that githubv4 would
// reduce to text: a status other than 200, or a 200 whose errors say the
// rate limit is exceeded (GitHub answers 200 then, and the
// X-RateLimit-Remaining header is not always 0). The GraphQL transport
// returns it in place of the answer.
type graphQLError struct {
	method, path string
	status       int // HTTP status
	header       http.Header
	typ          string // GraphQL error type, "RATE_LIMITED"
	message      string // GitHub's message
	docURL       string
}

func (e *graphQLError) Error() string {
	if e.status == http.StatusOK {
		return fmt.Sprintf("%s %s: %s: %s", e.method, e.path, e.typ, e.message)
	}
	s := fmt.Sprintf("%s %s: GitHub answered %d %s", e.method, e.path, e.status, http.StatusText(e.status))
	if e.message != "" {
		s += ": " + e.message
	}
	return s
}

func (e *graphQLError) decide(now time.Time) Decision {
	if e.status != http.StatusOK {
		resp := &http.Response{StatusCode: e.status, Header: e.header}
		d, _ := fromResponse(resp, e.message, e.docURL, now)
		return d
	}
	d, ok := fromGraphQLMessage(e.typ, e.message, now)
	if !ok {
		return Decision{Action: Retry, Reason: "GraphQL error"}
	}
	if d.Action == Wait {
		if reset := unixHeader(e.header.Get("X-RateLimit-Reset")); reset.After(now) {
			d.At = reset
		}
		if at, ok := parseRetryAfter(e.header.Get("Retry-After"), now); ok {
			d.At = at
		}
	}
	return d
}
