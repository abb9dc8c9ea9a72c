package onboarding

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/tasuki-sre/tasuki/internal/intent"
	"github.com/tasuki-sre/tasuki/internal/marker"
	"github.com/tasuki-sre/tasuki/internal/mdtext"
	"github.com/tasuki-sre/tasuki/internal/ownership"
)

// Anyone with write access to a repository can edit the body of tasuki's
// handoff issue, its hidden state included, and that state says whose
// approval counts on a risky plan (HandoffOf). The shell remembers what it
// wrote (StateMemoValue, in the store's memo under StateMemoKey) and the
// readers compare (CheckState): the issue is shown to people, the memo is
// what tasuki trusts.

// StateMemoKey is where the state tasuki last wrote in handoff issue
// number issue of repo ("owner/name") is remembered.
func StateMemoKey(repo string, issue int) string {
	return fmt.Sprintf("onboarding-state:%s#%d", strings.ToLower(repo), issue)
}

// StateMemoValue is what to remember after writing body to the handoff
// issue: the digest of its state and the state itself, "" when body holds
// no readable state.
func StateMemoValue(body string) string {
	s, found, err := decodeState(body)
	if !found || err != nil {
		return ""
	}
	line := encodeState(s)
	return stateDigest(line) + " " + line
}

// stateDigest is the digest of a state line as encodeState writes it.
func stateDigest(line string) string {
	sum := sha256.Sum256([]byte(line))
	return hex.EncodeToString(sum[:])
}

// CheckState compares the state in body with remembered, a StateMemoValue.
// known is false when nothing usable was remembered (no memo entry, the
// Action's memo, which lives one job): the body is all there is. Otherwise
// edited reports whether the body's state is not the one tasuki wrote
// (changed, or gone), and s is the one it wrote.
func CheckState(body, remembered string) (s State, edited, known bool) {
	digest, line, ok := strings.Cut(remembered, " ")
	if !ok || len(digest) != sha256.Size*2 {
		return State{}, false, false
	}
	s, err := decodeStateLine(line)
	if err != nil || stateDigest(line) != digest {
		return State{}, false, false
	}
	cur, found, err := decodeState(body)
	if !found || err != nil {
		return s, true, true
	}
	return s, stateDigest(encodeState(cur)) != digest, true
}

// decodeStateLine reads one state line as encodeState writes it.
func decodeStateLine(line string) (State, error) {
	m := stateRe.FindStringSubmatch(line)
	if m == nil || m[1] != fmt.Sprint(StateVersion) {
		return State{}, fmt.Errorf("decode handoff state: not a state line of version %d", StateVersion)
	}
	js, err := base64.RawURLEncoding.DecodeString(m[2])
	if err != nil {
		return State{}, fmt.Errorf("decode handoff state: %w", err)
	}
	var s State
	if err := json.Unmarshal(js, &s); err != nil {
		return State{}, fmt.Errorf("decode handoff state: %w", err)
	}
	return s, nil
}

// PhaseUnknown is the phase HandoffOfEdited gives a handoff whose issue's
// state was edited outside tasuki: not one of the phases, so the ownership
// model names no primary from it, and plan review applies its strictest
// rule (the core SRE team's approval).
const PhaseUnknown ownership.Phase = "unknown"

// HandoffOfEdited is HandoffOf for a handoff issue whose state was edited
// (CheckState): the teams of the state tasuki wrote, s, and PhaseUnknown.
// ok is false when s is closed.
func HandoffOfEdited(s State) (h *ownership.Handoff, ok bool) {
	if !s.Closed.IsZero() {
		return nil, false
	}
	org := repoOwner(s.Repo)
	_, team := splitTeam(s.Team, org)
	_, core := splitTeam(s.CoreTeam, org)
	return &ownership.Handoff{Phase: PhaseUnknown, Team: team, CoreTeam: core}, true
}

// EditedNotice is the one notice on handoff issue s.Issue after a person
// edited its state (edited is the body's state as they left it, for the
// notice's key: one notice per edit): tasuki put back the state it wrote.
func EditedNotice(s State, editedBody string) intent.Intent {
	key := "gone"
	if cur, found, err := decodeState(editedBody); found && err == nil {
		key = stateDigest(encodeState(cur))[:16]
	}
	return intent.Intent{Kind: intent.EnsureComment, Number: s.Issue,
		Marker: marker.New(MarkerNotice, fmt.Sprintf("%s#%d/edited-%s", s.Repo, s.Issue, key)),
		Body: "The hidden state of this handoff was edited outside tasuki, which does not trust it: tasuki put back the state it last wrote (phase " +
			mdtext.Text(s.Phase.Title()) + "). Move the handoff on with `/tasuki done` and `/tasuki na` in comments, not by editing the issue."}
}
