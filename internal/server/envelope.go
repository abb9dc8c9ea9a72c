package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// envelope is the part of every webhook payload the intake needs.
type envelope struct {
	Action         string
	InstallationID int64
	Repository     string
}

// readEnvelope reads action, installation.id and repository.full_name from
// a webhook body, which must be a JSON object.
//
// encoding/json's Unmarshal into a three-field struct validates the whole
// body and then scans it a second time to skip the fields it does not want:
// with payloads of 5-30 KB that was a fifth of the intake's CPU. Here the
// body is validated once (json.Valid) and then walked with a byte skipper
// that may rely on its validity; only the three small values are decoded.
// Keys match exactly (GitHub's are lower case), and a repeated key counts
// once, its last value, as a JSON object's members do.
func readEnvelope(body []byte) (envelope, error) {
	var env envelope
	if !json.Valid(body) {
		// Let encoding/json say what and where.
		var v any
		err := json.Unmarshal(body, &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return env, err
	}
	top, err := members(body, "action", "installation", "repository")
	if err != nil {
		return env, err
	}
	if raw := top[0]; raw != nil {
		if err := json.Unmarshal(raw, &env.Action); err != nil {
			return env, fmt.Errorf("action: %w", err)
		}
	}
	if raw := top[1]; raw != nil && !isNull(raw) {
		in, err := members(raw, "id")
		if err != nil {
			return env, fmt.Errorf("installation: %w", err)
		}
		if in[0] != nil {
			if err := json.Unmarshal(in[0], &env.InstallationID); err != nil {
				return env, fmt.Errorf("installation.id: %w", err)
			}
		}
	}
	if raw := top[2]; raw != nil && !isNull(raw) {
		repo, err := members(raw, "full_name")
		if err != nil {
			return env, fmt.Errorf("repository: %w", err)
		}
		if repo[0] != nil {
			if err := json.Unmarshal(repo[0], &env.Repository); err != nil {
				return env, fmt.Errorf("repository.full_name: %w", err)
			}
		}
	}
	return env, nil
}

func isNull(v []byte) bool { return string(v) == "null" }

// members returns the raw values of the named members of obj, a valid JSON
// value, in the order of keys (nil for an absent member). It fails when obj
// is not an object.
func members(obj []byte, keys ...string) ([][]byte, error) {
	out := make([][]byte, len(keys))
	i := skipWS(obj, 0)
	if i >= len(obj) || obj[i] != '{' {
		return nil, errors.New("not a JSON object")
	}
	i++
	for {
		i = skipWS(obj, i)
		if obj[i] == '}' {
			return out, nil
		}
		kEnd := skipString(obj, i)
		key := obj[i+1 : kEnd-1]
		if bytes.IndexByte(key, '\\') >= 0 {
			var k string
			if err := json.Unmarshal(obj[i:kEnd], &k); err != nil {
				return nil, err
			}
			key = []byte(k)
		}
		i = skipWS(obj, kEnd) + 1 // the colon
		i = skipWS(obj, i)
		vEnd := skipValue(obj, i)
		for n, k := range keys {
			if string(key) == k {
				out[n] = obj[i:vEnd]
			}
		}
		i = skipWS(obj, vEnd)
		if obj[i] == ',' {
			i++
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// skipString returns the index after the string starting at b[i] ('"').
func skipString(b []byte, i int) int {
	j := i + 1
	for {
		q := bytes.IndexByte(b[j:], '"')
		if q < 0 {
			return len(b) // unreachable for valid JSON
		}
		j += q
		// The quote ends the string unless an odd run of backslashes
		// escapes it.
		n := 0
		for k := j - 1; k > i && b[k] == '\\'; k-- {
			n++
		}
		j++
		if n%2 == 0 {
			return j
		}
	}
}

// skipValue returns the index after the value starting at b[i].
func skipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return skipString(b, i)
	case '{', '[':
		depth := 0
		for i < len(b) {
			switch b[i] {
			case '"':
				i = skipString(b, i)
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return i + 1
				}
			}
			i++
		}
		return i
	default: // number, true, false, null
		for i < len(b) {
			switch b[i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return i
			}
			i++
		}
		return i
	}
}
