package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tasuki-sre/tasuki/internal/testenv"
)

// referenceEnvelope is the plain encoding/json reading of the envelope that
// readEnvelope must agree with: exact keys, last duplicate wins.
func referenceEnvelope(body []byte) (envelope, error) {
	var env envelope
	if t := bytes.TrimLeft(body, " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return env, errors.New("not an object")
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return env, err
	}
	if raw, ok := top["action"]; ok {
		if err := json.Unmarshal(raw, &env.Action); err != nil {
			return env, err
		}
	}
	sub := func(name, key string, dst any) error {
		raw, ok := top[name]
		if !ok || string(raw) == "null" {
			return nil
		}
		if t := bytes.TrimLeft(raw, " \t\r\n"); t[0] != '{' {
			return errors.New("not an object")
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return err
		}
		if v, ok := m[key]; ok {
			return json.Unmarshal(v, dst)
		}
		return nil
	}
	if err := sub("installation", "id", &env.InstallationID); err != nil {
		return env, err
	}
	if err := sub("repository", "full_name", &env.Repository); err != nil {
		return env, err
	}
	return env, nil
}

func fixtureBodies(t testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(testenv.Fixtures(t, "webhooks"), "*.json"))
	var out [][]byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		t.Fatal("no webhook fixtures")
	}
	return out
}

func TestReadEnvelope(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    envelope
		wantErr bool
	}{
		{"all three", `{"action":"opened","installation":{"id":42,"node_id":"x"},"repository":{"id":1,"full_name":"acme/api","owner":{"login":"acme"}}}`,
			envelope{"opened", 42, "acme/api"}, false},
		{"none", `{"zen":"Design for failure.","hook":{"config":{"url":"https://x"}}}`, envelope{}, false},
		{"nested decoys are ignored", `{"pull_request":{"action":"x","repository":{"full_name":"evil/repo"}},"repository":{"owner":{"full_name":"no"},"full_name":"acme/api"}}`,
			envelope{Repository: "acme/api"}, false},
		{"escaped quotes and braces in strings", `{"body":"a \"}\" {[ \\","action":"edited"}`, envelope{Action: "edited"}, false},
		{"escaped key", `{"\u0061ction":"closed"}`, envelope{Action: "closed"}, false},
		{"last duplicate wins", `{"action":"a","action":"b"}`, envelope{Action: "b"}, false},
		{"nulls", `{"action":null,"installation":null,"repository":null}`, envelope{}, false},
		{"whitespace", " \n{ \"action\" :\t\"labeled\" , \"installation\" : { \"id\" : 7 } }\n", envelope{Action: "labeled", InstallationID: 7}, false},
		{"action not a string", `{"action":7}`, envelope{}, true},
		{"installation not an object", `{"installation":7}`, envelope{}, true},
		{"installation id not a number", `{"installation":{"id":"7"}}`, envelope{}, true},
		{"array", `[{"action":"opened"}]`, envelope{}, true},
		{"null", `null`, envelope{}, true},
		{"truncated", `{"action":"opened"`, envelope{}, true},
		{"trailing garbage", `{"action":"opened"}x`, envelope{}, true},
		{"empty", ``, envelope{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := readEnvelope([]byte(tt.body))
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(envelope{})); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			}
			ref, refErr := referenceEnvelope([]byte(tt.body))
			if (refErr != nil) != tt.wantErr || (refErr == nil && ref != got) {
				t.Errorf("disagrees with encoding/json: %+v %v", ref, refErr)
			}
		})
	}
	for _, b := range fixtureBodies(t) {
		got, err := readEnvelope(b)
		ref, refErr := referenceEnvelope(b)
		if err != nil || refErr != nil || got != ref {
			t.Errorf("fixture: got %+v %v, encoding/json %+v %v", got, err, ref, refErr)
		}
	}
}

// FuzzReadEnvelope checks the fast reader against encoding/json on any
// input: same answer, same refusal.
func FuzzReadEnvelope(f *testing.F) {
	for i, b := range fixtureBodies(f) {
		if i%10 == 0 {
			f.Add(b)
		}
	}
	for _, s := range []string{`{"action":"a","action":"b"}`, `{"\u0061ction":"x"}`, `{"a":"\\\"","action":"y"}`,
		`{"installation":{"id":1e3}}`, `{"installation":{"id":-1}}`, `{"repository":{"full_name":"a\u0000b"}}`, ` null `, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := readEnvelope(body)
		ref, refErr := referenceEnvelope(body)
		if (err != nil) != (refErr != nil) {
			t.Fatalf("readEnvelope err %v, encoding/json err %v", err, refErr)
		}
		if err == nil && got != ref {
			t.Fatalf("readEnvelope %+v, encoding/json %+v", got, ref)
		}
	})
}

// BenchmarkReadEnvelope compares the fast reader with json.Unmarshal into a
// struct (what the intake did first) over all fixture payloads.
func BenchmarkReadEnvelope(b *testing.B) {
	bodies := fixtureBodies(b)
	var size int64
	for _, x := range bodies {
		size += int64(len(x))
	}
	b.Run("readEnvelope", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			for _, x := range bodies {
				if _, err := readEnvelope(x); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("json.Unmarshal", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			for _, x := range bodies {
				var v struct {
					Action       string `json:"action"`
					Installation *struct {
						ID int64 `json:"id"`
					} `json:"installation"`
					Repository *struct {
						FullName string `json:"full_name"`
					} `json:"repository"`
				}
				if err := json.Unmarshal(x, &v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
