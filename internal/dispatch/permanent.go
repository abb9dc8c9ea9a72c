package dispatch

import "errors"

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
