package githubtest

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// The fake validates with kin-openapi's openapi3filter against cutspec.json,
// a cut of GitHub's REST description (see TestCutSpec): every path and
// method GitHub documents, so that a request is told apart as undocumented
// or merely unimplemented, and, for the operations the fake implements,
// their parameters, request bodies and responses with every schema they
// refer to. Loading it (twice, see parseSpec) takes about 0.14 s, once per
// test binary; the full 13 MB description takes 1.3 to 2.3 s and 400 MB of
// heap with kin-openapi, which every test binary starting the fake would pay.

//go:embed cutspec.json
var cutSpecJSON []byte

// spec is the loaded description with its path templates indexed.
type spec struct {
	doc    *openapi3.T
	byLen  map[int][]*pathEntry // templates by segment count
	greedy []*pathEntry         // templates whose last parameter may span segments ({path}, {ref})

	// resp is the same description loosened for responses: see
	// loosenResponses.
	resp *openapi3.T
}

type pathEntry struct {
	template string
	segs     []string
	ops      map[string]*openapi3.Operation // upper-case method -> operation
	respOps  map[string]*openapi3.Operation // the same operations in spec.resp
}

var (
	specOnce sync.Once
	specVal  *spec
	specErr  error
)

// embeddedSpec loads the committed description once per binary.
func embeddedSpec() (*spec, error) {
	specOnce.Do(func() {
		specVal, specErr = parseSpec(cutSpecJSON)
		if specErr != nil {
			specErr = fmt.Errorf("load embedded cutspec.json: %w", specErr)
		}
	})
	return specVal, specErr
}

// loadSpec returns the embedded description or fails t.
func loadSpec(t Reporter) *spec {
	t.Helper()
	sp, err := embeddedSpec()
	if err != nil {
		t.Fatalf("githubtest: %v", err)
	}
	return sp
}

// parseSpec loads an OpenAPI description twice, in parallel: as written, for
// requests, and loosened, for responses (see loosenResponses). Two loads
// are simpler and safer than copying kin-openapi's graph of schemas.
func parseSpec(data []byte) (*spec, error) {
	var docs [2]*openapi3.T
	var errs [2]error
	var wg sync.WaitGroup
	for i := range docs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			docs[i], errs[i] = openapi3.NewLoader().LoadFromData(data)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs[:]...); err != nil {
		return nil, err
	}
	loosenResponses(docs[1])
	return indexSpec(docs[0], docs[1]), nil
}

func indexSpec(doc, resp *openapi3.T) *spec {
	s := &spec{doc: doc, resp: resp, byLen: map[int][]*pathEntry{}}
	for tmpl, item := range doc.Paths.Map() {
		e := &pathEntry{template: tmpl, segs: splitPath(tmpl), ops: item.Operations(), respOps: map[string]*openapi3.Operation{}}
		if ri := resp.Paths.Value(tmpl); ri != nil {
			e.respOps = ri.Operations()
		}
		s.byLen[len(e.segs)] = append(s.byLen[len(e.segs)], e)
		if last := e.segs[len(e.segs)-1]; last == "{path}" || last == "{ref}" {
			s.greedy = append(s.greedy, e)
		}
	}
	for _, es := range s.byLen {
		sortEntries(es)
	}
	sortEntries(s.greedy)
	return s
}

// loosenResponses loosens every schema of doc's responses in two ways.
//
// "required" goes: the fake serialises go-github's structs, whose fields
// are omitempty, so it cannot send the many fields GitHub's responses
// require and that are null or unknown to the fake (milestone, labels_url,
// node_id, ...). Responses are checked for what they send: types, enums,
// formats and nesting of every field present, at any depth.
//
// "oneOf" becomes "anyOf": GitHub's description offers alternatives that
// overlap (a 409 is basic-error or repository-rule-violation-error, and
// {"message": "..."} is both), which GitHub's own answers would fail.
func loosenResponses(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(ref *openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		sc := ref.Value
		seen[sc] = true
		sc.Required = nil
		if len(sc.AnyOf) == 0 {
			sc.AnyOf, sc.OneOf = sc.OneOf, nil
		}
		for _, p := range sc.Properties {
			walk(p)
		}
		walk(sc.Items)
		walk(sc.AdditionalProperties.Schema)
		walk(sc.Not)
		for _, l := range []openapi3.SchemaRefs{sc.OneOf, sc.AnyOf, sc.AllOf} {
			for _, sub := range l {
				walk(sub)
			}
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.Responses == nil {
				continue
			}
			for _, r := range op.Responses.Map() {
				if r.Value == nil {
					continue
				}
				for _, mt := range r.Value.Content {
					walk(mt.Schema)
				}
				for _, h := range r.Value.Headers {
					if h.Value != nil {
						walk(h.Value.Schema)
					}
				}
			}
		}
	}
}

// sortEntries orders templates literal-first: at the first segment where two
// templates differ in kind, the literal one wins, so /repos/{o}/{r}/issues/comments
// is preferred to /repos/{o}/{r}/issues/{issue_number}.
func sortEntries(es []*pathEntry) {
	sort.Slice(es, func(i, j int) bool {
		a, b := es[i].segs, es[j].segs
		for k := 0; k < len(a) && k < len(b); k++ {
			pa, pb := isParam(a[k]), isParam(b[k])
			if pa != pb {
				return !pa
			}
		}
		if len(a) != len(b) {
			return len(a) > len(b)
		}
		return es[i].template < es[j].template
	})
}

func splitPath(p string) []string {
	return strings.Split(strings.Trim(p, "/"), "/")
}

func isParam(seg string) bool { return strings.HasPrefix(seg, "{") && strings.HasSuffix(seg, "}") }

// match finds the documented template for path (without the base path) and
// its parameters.
func (s *spec) match(path string) (*pathEntry, map[string]string) {
	segs := splitPath(path)
	for _, e := range s.byLen[len(segs)] {
		if params, ok := matchSegs(e.segs, segs, false); ok {
			return e, params
		}
	}
	for _, e := range s.greedy {
		if len(segs) < len(e.segs) {
			continue
		}
		if params, ok := matchSegs(e.segs, segs, true); ok {
			return e, params
		}
	}
	return nil, nil
}

func matchSegs(tmpl, segs []string, greedy bool) (map[string]string, bool) {
	params := map[string]string{}
	for i, ts := range tmpl {
		if i >= len(segs) {
			return nil, false
		}
		if isParam(ts) {
			if segs[i] == "" {
				return nil, false
			}
			name := ts[1 : len(ts)-1]
			if greedy && i == len(tmpl)-1 {
				params[name] = strings.Join(segs[i:], "/")
				return params, true
			}
			params[name] = segs[i]
			continue
		}
		if ts != segs[i] {
			return nil, false
		}
	}
	return params, len(tmpl) == len(segs)
}

// quirk is a request tasuki's GitHub clients send that GitHub accepts but
// its OpenAPI description does not allow. The validator excuses a quirk by checking the
// documented equivalent of the request instead, so what it carries is still
// checked.
type quirk struct {
	name string
	op   string // "METHOD template", or "*" for any operation
	// documented returns the body GitHub's description expects for body,
	// and whether body is this quirk.
	documented func(body []byte) ([]byte, bool)
	// example is a body the description refuses and the quirk excuses;
	// TestQuirksStillNeeded fails once the description accepts it, and the
	// quirk can go.
	example string
}

// clientQuirks is the one list of what the validator excuses: what go-github
// v60, and ghinstallation on top of it, send that the description does not
// list. Keep every such exception here, each with why.
var clientQuirks = []quirk{
	{
		// go-github encodes a nil options pointer as the body "null"
		// (CreateInstallationToken(ctx, id, nil)), and so does
		// ghinstallation when it mints an installation token; GitHub reads
		// it as no body.
		name:    "null body for nil options",
		op:      "*",
		example: "null",
		documented: func(body []byte) ([]byte, bool) {
			if string(bytes.TrimSpace(body)) == "null" {
				return nil, true
			}
			return body, false
		},
	},
	{
		// AddLabelsToIssue sends a bare JSON array of names; GitHub
		// accepts it as {"labels": [...]}, the description lists only that.
		name:       "bare label array (AddLabelsToIssue)",
		op:         "POST /repos/{owner}/{repo}/issues/{issue_number}/labels",
		example:    `["bug"]`,
		documented: wrapLabels,
	},
	{
		// ReplaceLabelsForIssue sends a bare JSON array too.
		name:       "bare label array (ReplaceLabelsForIssue)",
		op:         "PUT /repos/{owner}/{repo}/issues/{issue_number}/labels",
		example:    `["bug"]`,
		documented: wrapLabels,
	},
}

func wrapLabels(body []byte) ([]byte, bool) {
	var names []any
	if json.Unmarshal(body, &names) != nil {
		return body, false
	}
	out, _ := json.Marshal(map[string]any{"labels": names})
	return out, true
}

// documentedBody applies the quirks of op to body.
func documentedBody(op string, body []byte, quirks []quirk) []byte {
	for _, q := range quirks {
		if q.op == "*" || q.op == op {
			if b, ok := q.documented(body); ok {
				body = b
			}
		}
	}
	return body
}

// validationOptions: every problem is reported, nothing is added to the
// request (defaults), and authentication is the fake's own business.
func validationOptions() *openapi3filter.Options {
	return &openapi3filter.Options{
		MultiError:          true,
		SkipSettingDefaults: true,
		AuthenticationFunc:  openapi3filter.NoopAuthenticationFunc,
	}
}

func (s *spec) route(e *pathEntry, method string, resp bool) *routers.Route {
	doc, op := s.doc, e.ops[method]
	if resp {
		doc, op = s.resp, e.respOps[method]
	}
	return &routers.Route{Spec: doc, Path: e.template, PathItem: doc.Paths.Value(e.template), Method: method, Operation: op}
}

// checkRequest validates r (whose body was read into body) against the
// operation e documents for its method: path and query parameters, headers
// the description declares, and the JSON body at every depth. It returns
// one line per problem.
func (s *spec) checkRequest(r *http.Request, e *pathEntry, params map[string]string, body []byte, quirks []quirk) []string {
	body = documentedBody(r.Method+" "+e.template, body, quirks)
	req := r.Clone(context.Background())
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	req.GetBody = nil
	in := &openapi3filter.RequestValidationInput{
		Request:    req,
		PathParams: params,
		Route:      s.route(e, r.Method, false),
		Options:    validationOptions(),
	}
	err := openapi3filter.ValidateRequest(context.Background(), in)
	return describe(err, "")
}

// checkResponse validates a response the fake is about to send for a
// request to e: its documented headers and its JSON body at every depth,
// against the response documented for its status (undocumented statuses
// pass when undocumentedOK, as GitHub answers 401, 403 or 5xx anywhere).
func (s *spec) checkResponse(r *http.Request, e *pathEntry, params map[string]string, status int, header http.Header, body []byte, undocumentedOK bool) []string {
	opts := validationOptions()
	opts.IncludeResponseStatus = !undocumentedOK
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{
			Request: r, PathParams: params, Route: s.route(e, r.Method, true), Options: opts,
		},
		Status:  status,
		Header:  header,
		Body:    io.NopCloser(bytes.NewReader(body)),
		Options: opts,
	}
	err := openapi3filter.ValidateResponse(context.Background(), in)
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) && re.Reason == "status is not supported" {
		return []string{fmt.Sprintf("status %d is not documented", status)}
	}
	return describe(err, "body")
}

// describe turns a kin-openapi error into lines naming where the problem
// is (body.output.annotations[0].annotation_level, query parameter
// "per_page"), what is wrong and the value.
func describe(err error, where string) []string {
	var out []string
	var walk func(err error, where string)
	walk = func(err error, where string) {
		switch e := err.(type) {
		case nil:
		case openapi3.MultiError:
			for _, sub := range e {
				walk(sub, where)
			}
		case *openapi3filter.RequestError:
			if p := e.Parameter; p != nil {
				where = fmt.Sprintf("%s parameter %q", p.In, p.Name)
			} else {
				where = "body"
			}
			if hasSchemaError(e.Err) {
				walk(e.Err, where)
				return
			}
			out = append(out, where+": "+joinReason(e.Reason, e.Err))
		case *openapi3filter.ResponseError:
			reason := e.Reason
			if m := headerReason.FindStringSubmatch(reason); m != nil {
				where, reason = "header "+m[1], ""
				if strings.HasSuffix(e.Reason, " missing") {
					reason = "required header is missing"
				}
			}
			if hasSchemaError(e.Err) {
				walk(e.Err, where)
				return
			}
			out = append(out, where+": "+joinReason(reason, e.Err))
		case *openapi3.SchemaError:
			out = append(out, schemaProblem(e, where))
		default:
			out = append(out, where+": "+err.Error())
		}
	}
	walk(err, where)
	return out
}

// headerReason matches kin-openapi's reasons about a response header, to
// name the header as where the problem is.
var headerReason = regexp.MustCompile(`^(?:unable to decode header|response header) ("[^"]*")`)

// joinReason is kin-openapi's message of a request or response error
// without its prefix.
func joinReason(reason string, err error) string {
	switch {
	case err == nil:
		return reason
	case reason == "" || reason == err.Error():
		return err.Error()
	}
	return reason + ": " + err.Error()
}

func hasSchemaError(err error) bool {
	var se *openapi3.SchemaError
	return errors.As(err, &se)
}

// schemaProblem renders one schema violation. For oneOf and anyOf it lists
// why each alternative fails, which is where a nested mistake hides.
func schemaProblem(se *openapi3.SchemaError, where string) string {
	at := fieldPath(where, se.JSONPointer())
	reason := se.Reason
	if reason == "" {
		reason = "does not match " + se.SchemaField
	}
	switch se.SchemaField {
	case "required":
		return at + ": required field is missing"
	case "oneOf", "anyOf", "allOf":
		var alts openapi3.SchemaRefs
		switch se.SchemaField {
		case "oneOf":
			alts = se.Schema.OneOf
		case "anyOf":
			alts = se.Schema.AnyOf
		default:
			alts = se.Schema.AllOf
		}
		if strings.Contains(reason, "more than one") || len(alts) == 0 {
			return at + ": " + reason
		}
		var why []string
		for i, alt := range alts {
			if alt.Value == nil {
				continue
			}
			err := alt.Value.VisitJSON(se.Value, openapi3.MultiErrors())
			if err == nil {
				continue
			}
			why = append(why, fmt.Sprintf("[%d] %s", i, strings.Join(describe(err, at), "; ")))
		}
		return fmt.Sprintf("%s: %s (%s)", at, reason, strings.Join(why, " | "))
	}
	return fmt.Sprintf("%s: %s, got %s", at, reason, shortJSON(se.Value))
}

// fieldPath joins a JSON pointer to where as body.a.b[0].c.
func fieldPath(where string, ptr []string) string {
	var b strings.Builder
	b.WriteString(where)
	for _, p := range ptr {
		if _, err := strconv.Atoi(p); err == nil {
			b.WriteString("[" + p + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(p)
	}
	return b.String()
}

func shortJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%v", v)
	}
	const max = 80
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
