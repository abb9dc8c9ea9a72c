package server

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
)

// Signature errors, for callers that want to tell them apart.
var (
	ErrNoSignature        = errors.New("missing X-Hub-Signature-256 header")
	ErrMalformedSignature = errors.New("X-Hub-Signature-256 is not of the form sha256=HEX")
	ErrBadSignature       = errors.New("X-Hub-Signature-256 does not match the body")
)

// Sign returns the X-Hub-Signature-256 value GitHub sends for body.
func Sign(secret, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySignature checks header (the X-Hub-Signature-256 value) against the
// HMAC-SHA256 of body under secret, in constant time. An empty secret never
// verifies: go-github v60's ValidatePayload skips the check in that case,
// which is why tasuki does not use it.
func VerifySignature(secret, body []byte, header string) error {
	if len(secret) == 0 {
		return errors.New("no webhook secret configured")
	}
	got, err := parseSignature(header)
	if err != nil {
		return err
	}
	m := hmac.New(sha256.New, secret)
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrBadSignature
	}
	return nil
}

// WithPreviousSecret makes the intake also accept deliveries signed with
// prev, the webhook secret being rotated out. GitHub signs with one secret
// at a time, but deliveries already queued or redelivered after the App's
// secret changes still carry the old signature; accepting both for the
// rotation drops none. An empty prev accepts nothing more.
func WithPreviousSecret(prev []byte) Option {
	return func(s *Server) {
		if len(prev) > 0 {
			s.previous = prev
		}
	}
}

// verify checks a delivery against the webhook secret and, during a
// rotation, the previous one. Both HMACs are always computed and compared
// in constant time, so the time taken does not tell which secret matched.
func (s *Server) verify(body []byte, header string) error {
	err := VerifySignature(s.secret, body, header)
	if len(s.previous) == 0 {
		return err
	}
	prevErr := VerifySignature(s.previous, body, header)
	if err == nil || prevErr == nil {
		return nil
	}
	return err
}

// parseSignature returns the HMAC an X-Hub-Signature-256 value carries. It
// needs no body, so the intake refuses a missing or malformed header before
// reading one.
func parseSignature(header string) ([]byte, error) {
	if header == "" {
		return nil, ErrNoSignature
	}
	hexSum, ok := strings.CutPrefix(header, "sha256=")
	if !ok {
		return nil, ErrMalformedSignature
	}
	got, err := hex.DecodeString(hexSum)
	if err != nil || len(got) != sha256.Size {
		return nil, ErrMalformedSignature
	}
	return got, nil
}
