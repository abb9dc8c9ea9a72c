package dispatch

import (
	"errors"
	"time"
)

// Permanent marks err as one that running the delivery again cannot fix: the
// installation no longer exists, tasuki cannot see the repository, the
// payload cannot be decoded. The worker then gives up on the delivery at once
// (it is failed, with err as its last error) instead of retrying it for an
// hour. Permanent(nil) is nil.
//
// Other packages may instead return their own error type with a
// `Permanent() bool` method; IsPermanent honours both.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string   { return e.err.Error() }
func (e *permanentError) Unwrap() error   { return e.err }
func (e *permanentError) Permanent() bool { return true }

// IsPermanent reports whether retrying cannot help with err: err, or an error
// it wraps, has a Permanent method returning true. An error joining several
// (errors.Join, as Router.Dispatch returns when several handlers fail) is
// permanent only when each of them is: a handler that failed for a passing
// reason still deserves its retry.
func IsPermanent(err error) bool {
	for err != nil {
		if p, ok := err.(interface{ Permanent() bool }); ok {
			return p.Permanent()
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs := j.Unwrap()
			for _, e := range errs {
				if !IsPermanent(e) {
					return false
				}
			}
			return len(errs) > 0
		}
		err = errors.Unwrap(err)
	}
	return false
}

// RetryLater marks err as one that passes with time: the service asked to
// be called again no earlier than at (a rate limit's reset, a Retry-After).
// The worker then runs the delivery again at that time without counting the
// attempt. RetryLater(nil, t) is nil.
//
// Other packages may instead return their own error type with a
// `RetryAt() time.Time` method (ghclient does, for GitHub's rate limits);
// RetryAt honours both.
func RetryLater(err error, at time.Time) error {
	if err == nil {
		return nil
	}
	return &retryLaterError{err: err, at: at}
}

type retryLaterError struct {
	err error
	at  time.Time
}

func (e *retryLaterError) Error() string      { return e.err.Error() }
func (e *retryLaterError) Unwrap() error      { return e.err }
func (e *retryLaterError) RetryAt() time.Time { return e.at }

// RetryAt reports when err may be tried again: err, or an error it wraps,
// has a RetryAt method returning a non-zero time. The first such method on
// the chain decides; a zero time means "no need to wait". An error joining
// several (errors.Join, as Router.Dispatch returns) waits for the latest
// time any of them asks for, since every handler runs again.
func RetryAt(err error) (time.Time, bool) {
	for err != nil {
		if r, ok := err.(interface{ RetryAt() time.Time }); ok {
			at := r.RetryAt()
			return at, !at.IsZero()
		}
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			var latest time.Time
			for _, e := range j.Unwrap() {
				if at, ok := RetryAt(e); ok && at.After(latest) {
					latest = at
				}
			}
			return latest, !latest.IsZero()
		}
		err = errors.Unwrap(err)
	}
	return time.Time{}, false
}
