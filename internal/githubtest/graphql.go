package githubtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The GraphQL endpoint. A GitHub Enterprise Server serves it at
// /api/graphql beside its REST API at /api/v3/, which is where the fake
// serves it too (GraphQLURL). It answers the queries tasuki sends (viewer {
// login }, rateLimit { ... }); a field it does not know fails the test, as
// an undocumented REST request does. GitHub's OpenAPI description does not
// cover GraphQL, so nothing is checked against it; the answers follow
// GitHub's GraphQL schema and its rate limit answers (200 with a
// RATE_LIMITED error).
const (
	graphQLPath = "/api/graphql"
	// GraphQLTemplate is the GraphQL endpoint's template in Call, CallCount
	// and Inject ("POST", GraphQLTemplate).
	GraphQLTemplate = "/graphql"
)

// GraphQLURL returns the GraphQL endpoint's URL, as a GitHub Enterprise
// Server serves it: the host's /api/graphql.
func (s *Server) GraphQLURL() string { return s.ts.URL + graphQLPath }

// InjectGraphQLRateLimit makes the next n GraphQL requests answer as GitHub
// does when the GraphQL rate limit is spent: 200 OK, X-RateLimit-Remaining:
// 0, X-RateLimit-Reset at reset (an hour from now on the server's clock if
// zero), and no data but an error of type RATE_LIMITED.
func (s *Server) InjectGraphQLRateLimit(n int, reset time.Time) {
	if reset.IsZero() {
		reset = s.now().Add(time.Hour)
	}
	s.InjectTimes(n, http.MethodPost, GraphQLTemplate, http.StatusOK, map[string]string{
		"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Used": "5000",
		"X-RateLimit-Reset": strconv.FormatInt(reset.Unix(), 10), "X-RateLimit-Resource": "graphql",
	})
}

// maxGraphQLRequest bounds a GraphQL request body the fake reads.
const maxGraphQLRequest = 1 << 20

func (s *Server) serveGraphQL(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxGraphQLRequest))
	call := Call{Method: r.Method, Path: GraphQLTemplate, Template: GraphQLTemplate, Query: r.URL.Query(), Body: body}
	s.begin(&call)
	rec := httptest.NewRecorder()
	rc := &reqCtx{s: s, w: rec, r: r, body: body}
	s.answerGraphQL(rc, &call)
	s.end(w, rec, rc, call)
}

func (s *Server) answerGraphQL(rc *reqCtx, call *Call) {
	r := rc.r
	if r.Method != http.MethodPost {
		s.t.Errorf("githubtest: %s %s: GitHub's GraphQL endpoint takes POST", r.Method, graphQLPath)
		rc.notFound()
		return
	}
	var req struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(rc.body, &req); err != nil {
		s.t.Errorf("githubtest: GraphQL request is not JSON: %v", err)
		rc.fail(http.StatusBadRequest, "Problems parsing JSON")
		return
	}
	who, isJWT, ok := s.authenticate(r)
	switch {
	case !ok:
		rc.json(http.StatusUnauthorized, map[string]string{"message": "This endpoint requires you to be authenticated.",
			"documentation_url": "https://docs.github.com/graphql/guides/forming-calls-with-graphql#authenticating-with-graphql"})
		return
	case isJWT:
		rc.fail(http.StatusUnauthorized, "A JSON web token cannot be used for this endpoint; use an installation token")
		return
	}
	rc.who = who
	call.Login = who.login
	if inj := s.takeInjection(http.MethodPost, GraphQLTemplate); inj != nil {
		if inj.status == http.StatusOK {
			s.answerGraphQLRateLimited(rc, inj)
		} else {
			s.answerInjected(rc, inj)
		}
		return
	}
	sel, err := parseGraphQL(req.Query)
	if err != nil {
		s.t.Errorf("githubtest: GraphQL query %q: %v", req.Query, err)
		rc.json(http.StatusOK, map[string]any{"errors": []map[string]any{{"message": "Parse error: " + err.Error()}}})
		return
	}
	cost, err := bindGraphQL(sel, req.Variables) // graphql_backfill.go
	if err != nil {
		s.t.Errorf("githubtest: GraphQL query %q: %v", req.Query, err)
		rc.json(http.StatusOK, map[string]any{"errors": []map[string]any{{"message": err.Error()}}})
		return
	}
	remaining, reset, ok := s.spendGraphQLPoints(r, cost)
	if !ok {
		s.answerGraphQLSpent(rc, reset)
		return
	}
	data := map[string]any{}
	var errs, notFound []map[string]any
	for _, f := range sel {
		v, err := s.resolveGraphQL(rc, f, cost, remaining, reset)
		if nf, ok := err.(*gqlNotFound); ok {
			// GitHub answers data with the field null, and the error.
			data[f.key()] = nil
			notFound = append(notFound, map[string]any{"type": "NOT_FOUND", "path": []string{f.key()}, "message": nf.msg})
			continue
		}
		if err != nil {
			s.t.Errorf("githubtest: GraphQL query %q: %v", req.Query, err)
			errs = append(errs, map[string]any{"path": []string{"query", f.name}, "message": err.Error(),
				"extensions": map[string]string{"code": "undefinedField", "typeName": "Query", "fieldName": f.name}})
			continue
		}
		data[f.key()] = v
	}
	h := rc.w.Header()
	limit := s.graphQLLimit()
	h.Set("X-RateLimit-Limit", strconv.Itoa(limit))
	h.Set("X-RateLimit-Remaining", strconv.Itoa(remaining))
	h.Set("X-RateLimit-Used", strconv.Itoa(limit-remaining))
	h.Set("X-RateLimit-Reset", strconv.FormatInt(reset.Unix(), 10))
	h.Set("X-RateLimit-Resource", "graphql")
	if len(errs) > 0 {
		// GitHub answers a query that does not validate with errors only.
		rc.json(http.StatusOK, map[string]any{"errors": errs})
		return
	}
	if len(notFound) > 0 {
		rc.json(http.StatusOK, map[string]any{"data": data, "errors": notFound})
		return
	}
	rc.json(http.StatusOK, map[string]any{"data": data})
}

// answerGraphQLRateLimited answers as GitHub does once the GraphQL rate
// limit is spent.
func (s *Server) answerGraphQLRateLimited(rc *reqCtx, inj *injection) {
	for k, v := range inj.headers {
		rc.w.Header().Set(k, v)
	}
	who := fmt.Sprintf("user ID %d", s.userID(rc.who.login))
	if rc.who.installationID > 0 {
		who = fmt.Sprintf("installation ID %d", rc.who.installationID)
	}
	rc.json(http.StatusOK, map[string]any{"errors": []map[string]string{{"type": "RATE_LIMITED",
		"message": "API rate limit exceeded for " + who + "."}}})
}

func (s *Server) userID(login string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.st.user(login).GetID()
}

// resolveGraphQL answers one top-level field of the query.
func (s *Server) resolveGraphQL(rc *reqCtx, f gqlField, cost, remaining int, reset time.Time) (any, error) {
	switch f.name {
	case "viewer":
		s.mu.Lock()
		u := s.st.user(rc.who.login)
		values := map[string]any{"login": u.GetLogin(), "databaseId": u.GetID(), "__typename": u.GetType(),
			"url": u.GetHTMLURL()}
		s.mu.Unlock()
		return pick("User", f.sel, values)
	case "repository":
		return s.resolveRepository(rc, f) // graphql_backfill.go
	case "rateLimit":
		limit := s.graphQLLimit()
		return pick("RateLimit", f.sel, map[string]any{"cost": cost, "limit": limit, "remaining": remaining,
			"used": limit - remaining, "resetAt": reset.UTC().Format(time.RFC3339), "nodeCount": 1, "__typename": "RateLimit"})
	}
	//lint:ignore ST1005 GitHub's own GraphQL error text, capitalised as GitHub sends it
	return nil, fmt.Errorf("Field '%s' doesn't exist on type 'Query' (or githubtest does not implement it)", f.name)
}

// pick answers the selection sel of an object of type typ from values.
func pick(typ string, sel []gqlField, values map[string]any) (map[string]any, error) {
	if len(sel) == 0 {
		//lint:ignore ST1005 GitHub's own GraphQL error text, capitalised as GitHub sends it
		return nil, fmt.Errorf("Field must have selections (%s)", typ)
	}
	out := map[string]any{}
	for _, f := range sel {
		v, ok := values[f.name]
		if !ok || len(f.sel) > 0 {
			//lint:ignore ST1005 GitHub's own GraphQL error text, capitalised as GitHub sends it
			return nil, fmt.Errorf("Field '%s' doesn't exist on type '%s' (or githubtest does not implement it)", f.name, typ)
		}
		out[f.key()] = v
	}
	return out, nil
}

// gqlField is one field of a GraphQL selection set.
type gqlField struct {
	alias, name string
	sel         []gqlField
	args        string         // the argument list as written, "(first: $n)"
	argv        map[string]any // args read with the variables (bindGraphQL)
}

func (f gqlField) key() string {
	if f.alias != "" {
		return f.alias
	}
	return f.name
}

// parseGraphQL reads a query document as githubv4 writes it:
// `query($a:Int!){viewer{login},rateLimit{cost}}`, an optional operation
// name, variable definitions and arguments (skipped), aliases and nested
// selections. It returns the top-level selection set.
func parseGraphQL(doc string) ([]gqlField, error) {
	p := &gqlParser{src: doc}
	p.space()
	if name := p.name(); name != "" {
		if name != "query" {
			return nil, fmt.Errorf("operation %q: githubtest answers queries only", name)
		}
		p.space()
		if p.peek() != '{' && p.peek() != '(' {
			p.name() // operation name
			p.space()
		}
		if p.peek() == '(' {
			if err := p.skipParens(); err != nil {
				return nil, err
			}
		}
	}
	sel, err := p.selection()
	if err != nil {
		return nil, err
	}
	if p.space(); p.pos != len(p.src) {
		return nil, fmt.Errorf("unexpected %q at %d", p.src[p.pos:], p.pos)
	}
	return sel, nil
}

type gqlParser struct {
	src string
	pos int
}

func (p *gqlParser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

// space skips white space and GraphQL's insignificant commas.
func (p *gqlParser) space() {
	for p.pos < len(p.src) && (p.src[p.pos] == ',' || unicode.IsSpace(rune(p.src[p.pos]))) {
		p.pos++
	}
}

func (p *gqlParser) name() string {
	start := p.pos
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || p.pos > start && c >= '0' && c <= '9' {
			p.pos++
			continue
		}
		break
	}
	return p.src[start:p.pos]
}

func (p *gqlParser) skipParens() error {
	depth := 0
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; c {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				p.pos++
				return nil
			}
		case '"':
			for p.pos++; p.pos < len(p.src) && p.src[p.pos] != '"'; p.pos++ {
				if p.src[p.pos] == '\\' {
					p.pos++
				}
			}
			if p.pos >= len(p.src) {
				return fmt.Errorf("unterminated string")
			}
		}
		p.pos++
	}
	return fmt.Errorf("unbalanced parentheses")
}

func (p *gqlParser) selection() ([]gqlField, error) {
	p.space()
	if p.peek() != '{' {
		return nil, fmt.Errorf("want '{' at %d", p.pos)
	}
	p.pos++
	var out []gqlField
	for {
		p.space()
		if p.peek() == '}' {
			p.pos++
			if len(out) == 0 {
				return nil, fmt.Errorf("empty selection at %d", p.pos)
			}
			return out, nil
		}
		if strings.HasPrefix(p.src[p.pos:], "...") {
			// An inline fragment, "... on Type { ... }": a field named
			// "..." whose alias is the type condition.
			p.pos += 3
			p.space()
			if p.name() != "on" {
				return nil, fmt.Errorf("fragment spreads are not implemented by githubtest (inline fragments are)")
			}
			p.space()
			typ := p.name()
			if typ == "" {
				return nil, fmt.Errorf("want a type after '... on' at %d", p.pos)
			}
			sub, err := p.selection()
			if err != nil {
				return nil, err
			}
			out = append(out, gqlField{name: "...", alias: typ, sel: sub})
			continue
		}
		var f gqlField
		if f.name = p.name(); f.name == "" {
			return nil, fmt.Errorf("want a field name at %d", p.pos)
		}
		p.space()
		if p.peek() == ':' {
			p.pos++
			p.space()
			f.alias = f.name
			if f.name = p.name(); f.name == "" {
				return nil, fmt.Errorf("want a field name after alias %s", f.alias)
			}
			p.space()
		}
		if p.peek() == '(' {
			start := p.pos
			if err := p.skipParens(); err != nil {
				return nil, err
			}
			f.args = p.src[start:p.pos]
			p.space()
		}
		if p.peek() == '{' {
			sub, err := p.selection()
			if err != nil {
				return nil, err
			}
			f.sel = sub
		}
		out = append(out, f)
	}
}
