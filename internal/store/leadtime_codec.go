package store

import (
	"encoding/binary"
	"errors"
	"time"
	"unsafe"

	"github.com/tasuki-sre/tasuki/internal/leadtime"
)

// The encoded form of a lead-time event (the data column): a format byte,
// then the fields in a fixed order, integers as varints (times as Unix
// microseconds, 0 for the zero time), strings as a length and the bytes,
// lists as a count plus one (0 for a nil list, so "not known" and "known
// empty" stay apart). A new field is appended at the end: decoders treat a
// value that ends early as holding zero for what follows, so rows written
// before the field existed still decode.

const codecV1 = 1

var errCorrupt = errors.New("corrupt lead-time record")

type enc []byte

func (e enc) int(v int64) enc { return binary.AppendVarint(e, v) }
func (e enc) time(t time.Time) enc {
	if t.IsZero() {
		return e.int(0)
	}
	return e.int(t.UnixMicro())
}
func (e enc) bool(b bool) enc {
	if b {
		return append(e, 1)
	}
	return append(e, 0)
}
func (e enc) str(s string) enc { return append(binary.AppendUvarint(e, uint64(len(s))), s...) }
func (e enc) strs(ss []string) enc {
	if ss == nil {
		return binary.AppendUvarint(e, 0)
	}
	e = binary.AppendUvarint(e, uint64(len(ss))+1)
	for _, s := range ss {
		e = e.str(s)
	}
	return e
}

// dec reads an encoded value. Strings are copied into the decoder's arena:
// History decodes millions of them, and one allocation per string was most
// of its time and much of its memory; short strings that repeat (logins,
// branch names, states) are interned instead.
type dec struct {
	b   []byte
	err error
	a   *arena
}

func (d *dec) int() int64 {
	if len(d.b) == 0 || d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) uint() uint64 {
	if len(d.b) == 0 || d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) time() time.Time {
	v := d.int()
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMicro(v).UTC()
}

func (d *dec) bool() bool { return d.int8() != 0 }

func (d *dec) int8() byte {
	if len(d.b) == 0 || d.err != nil {
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) raw() []byte {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return nil
	}
	s := d.b[:n]
	d.b = d.b[n:]
	return s
}

// str decodes a string that is mostly unique (a title, a SHA, a path).
// Without an arena it is a view of the encoded bytes (see view).
func (d *dec) str() string {
	if d.a == nil {
		return view(d.raw())
	}
	return d.a.str(view(d.raw()))
}

// sym decodes a string that repeats across records (a login, a ref).
func (d *dec) sym() string {
	if d.a == nil {
		return view(d.raw())
	}
	return d.a.intern(view(d.raw()))
}

// view is b as a string without a copy, for a reader that copies what it
// keeps before b changes (leadtime.Builder does).
func view(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// strsInto decodes a list of strings into out[:0] (views, see str).
func (d *dec) strsInto(out []string) []string {
	n := d.uint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)) { // each string takes at least a byte
		d.err = errCorrupt
		return nil
	}
	out = out[:0]
	if out == nil { // known, and maybe empty: not nil
		out = make([]string, 0, n)
	}
	for range n {
		out = append(out, d.str())
	}
	return out
}

func (d *dec) strs(sym bool) []string {
	n := d.uint()
	if n == 0 {
		return nil
	}
	n--
	if n > uint64(len(d.b)) { // each string takes at least a byte
		d.err = errCorrupt
		return nil
	}
	out := make([]string, n)
	for i := range out {
		if sym {
			out[i] = d.sym()
		} else {
			out[i] = d.str()
		}
	}
	return out
}

func (d *dec) skipStrs() {
	n := d.uint()
	for ; n > 1; n-- {
		d.raw()
	}
}

// arena holds decoded strings in large shared blocks. A block is never
// written again once a string points into it, so the strings are immutable
// as Go requires.
type arena struct {
	buf  []byte
	syms map[string]string
}

const arenaBlock = 256 << 10

func newArena() *arena { return &arena{syms: map[string]string{}} }

// str copies s (a view of a row, see view) into the arena.
func (a *arena) str(s string) string {
	if len(s) == 0 {
		return ""
	}
	b := unsafe.Slice(unsafe.StringData(s), len(s))
	if cap(a.buf)-len(a.buf) < len(b) {
		a.buf = make([]byte, 0, max(arenaBlock, len(b)))
	}
	start := len(a.buf)
	a.buf = append(a.buf, b...)
	return unsafe.String(&a.buf[start], len(b))
}

// intern is str for a string that repeats: one copy of each.
func (a *arena) intern(v string) string {
	if len(v) == 0 {
		return ""
	}
	if s, ok := a.syms[v]; ok {
		return s
	}
	if len(a.syms) > 1<<20 {
		return a.str(v) // a bound on the map, should "repeating" strings not repeat
	}
	s := a.str(v)
	a.syms[s] = s
	return s
}

// strs copies a list with one (str or intern), keeping nil apart from
// empty.
func (a *arena) strs(src []string, one func(string) string) []string {
	if src == nil {
		return nil
	}
	out := make([]string, len(src))
	for i, s := range src {
		out[i] = one(s)
	}
	return out
}

// Pull: the row's columns hold Repo, Number, OpenedAt, MergedAt and ClosedAt.
func encodePull(p leadtime.Pull) []byte {
	e := enc(make([]byte, 0, 128)).int(codecV1)
	e = e.str(p.Title).str(p.Author).bool(p.AuthorIsBot).time(p.FirstCommitAt).time(p.ReadyAt)
	e = e.str(p.MergeSHA).str(p.BaseRef).str(p.HeadRef).strs(p.Paths).strs(p.Labels).int(int64(p.Reverts))
	// The row's key and times again (they are columns too, for queries),
	// so that History reads one column per pull request: the SQLite driver
	// allocates for every integer column of every row.
	e = e.int(int64(p.Number)).time(p.OpenedAt).time(p.MergedAt).time(p.ClosedAt)
	return e
}

// decodePull decodes a pull's data column into p, its strings copied into
// a; without paths, p.Paths stays nil. r is scratch space, reused across
// calls.
func decodePull(b []byte, a *arena, p *leadtime.Pull, noPaths bool, r *leadtime.PullRecord) error {
	if err := decodePullRecord(b, r, !noPaths); err != nil {
		return err
	}
	p.Title, p.Author, p.AuthorIsBot = a.str(r.Title), a.intern(r.Author), r.AuthorIsBot
	p.FirstCommitAt, p.ReadyAt = fromMicros(r.FirstCommitAt), fromMicros(r.ReadyAt)
	p.MergeSHA, p.BaseRef, p.HeadRef = a.str(r.MergeSHA), a.intern(r.BaseRef), a.str(r.HeadRef)
	if !noPaths {
		p.Paths = a.strs(r.Paths, a.str)
	}
	p.Labels = a.strs(r.Labels, a.intern)
	p.Reverts, p.Number = r.Reverts, r.Number
	p.OpenedAt, p.MergedAt, p.ClosedAt = fromMicros(r.OpenedAt), fromMicros(r.MergedAt), fromMicros(r.ClosedAt)
	return nil
}

// decodePullRecord decodes a pull's data column for a leadtime.Builder:
// strings are views of b, lists reuse the slices in p; Paths are read only
// with paths.
func decodePullRecord(b []byte, p *leadtime.PullRecord, paths bool) error {
	d := dec{b: b}
	if v := d.int(); v != codecV1 {
		return errCorrupt
	}
	p.Title = d.str()
	p.Author = d.str()
	p.AuthorIsBot = d.bool()
	p.FirstCommitAt = d.int()
	p.ReadyAt = d.int()
	p.MergeSHA = d.str()
	p.BaseRef = d.str()
	p.HeadRef = d.str()
	if paths {
		p.Paths = d.strsInto(p.Paths)
	} else {
		d.skipStrs()
		p.Paths = p.Paths[:0]
	}
	p.Labels = d.strsInto(p.Labels)
	p.Reverts = int(d.int())
	p.Number = int(d.int())
	p.OpenedAt = d.int()
	p.MergedAt = d.int()
	p.ClosedAt = d.int()
	return d.err
}

// reviewsInto feeds a pull's reviews, decoded from its row, to b as the
// reviews of the pull it added last.
func reviewsInto(raw []byte, b *leadtime.Builder) error {
	if len(raw) == 0 {
		return nil
	}
	d := dec{b: raw}
	if v := d.int(); v != codecV1 {
		return errCorrupt
	}
	n := d.int()
	if n < 0 || n > int64(len(d.b)) {
		return errCorrupt
	}
	for range n {
		d.int() // ID
		at := d.int()
		reviewer := d.str()
		bot := d.bool()
		d.raw() // state
		if d.err != nil {
			return d.err
		}
		b.ReviewLast(reviewer, bot, at)
	}
	return d.err
}

// Review: the row's columns hold Repo, Number, ID and At.
func encodeReview(r leadtime.Review) []byte {
	return enc(make([]byte, 0, 32)).int(codecV1).str(r.Reviewer).bool(r.ReviewerIsBot).str(r.State)
}

func decodeReview(b []byte, a *arena, r *leadtime.Review) error {
	d := dec{b: b, a: a}
	if v := d.int(); v != codecV1 {
		return errCorrupt
	}
	r.Reviewer = d.sym()
	r.ReviewerIsBot = d.bool()
	r.State = d.sym()
	return d.err
}

// encodeReviews encodes a pull's reviews for its row: ID, At and the rest.
func encodeReviews(rs []leadtime.Review) []byte {
	e := enc(make([]byte, 0, 8+24*len(rs))).int(codecV1).int(int64(len(rs)))
	for _, r := range rs {
		e = e.int(r.ID).time(r.At).str(r.Reviewer).bool(r.ReviewerIsBot).str(r.State)
	}
	return e
}

// decodeReviews appends a pull's reviews, decoded from its row, to out, up
// to and including the first for which last is true (nil: all).
func decodeReviews(b []byte, a *arena, repo string, number int, out []leadtime.Review, last func(*leadtime.Review) bool) ([]leadtime.Review, error) {
	if len(b) == 0 {
		return out, nil
	}
	d := dec{b: b, a: a}
	if v := d.int(); v != codecV1 {
		return out, errCorrupt
	}
	n := d.int()
	if n < 0 || n > int64(len(d.b)) {
		return out, errCorrupt
	}
	for range n {
		out = append(out, leadtime.Review{
			Repo: repo, Number: number,
			ID: d.int(), At: d.time(), Reviewer: d.sym(), ReviewerIsBot: d.bool(), State: d.sym(),
		})
		if last != nil && last(&out[len(out)-1]) {
			break
		}
	}
	return out, d.err
}

// Deployment: the row's columns hold Repo, ID and FinishedAt.
func encodeDeployment(x leadtime.Deployment) []byte {
	e := enc(make([]byte, 0, 96+41*len(x.Commits))).int(codecV1)
	e = e.str(string(x.Source)).str(x.Environment).str(x.Service).str(x.SHA).str(x.PreviousSHA)
	e = e.strs(x.Commits).str(x.Creator).str(x.Ref)
	return e
}

func decodeDeployment(b []byte, a *arena, x *leadtime.Deployment) error {
	d := dec{b: b, a: a}
	if v := d.int(); v != codecV1 {
		return errCorrupt
	}
	x.Source = leadtime.Source(d.sym())
	x.Environment = d.sym()
	x.Service = d.sym()
	x.SHA = d.str()
	x.PreviousSHA = d.str()
	x.Commits = d.strs(false)
	x.Creator = d.sym()
	x.Ref = d.sym()
	return d.err
}

// Job: the row's columns hold Repo, ID and the first known of QueuedAt,
// StartedAt, CompletedAt (at).
func encodeJob(j leadtime.Job) []byte {
	e := enc(make([]byte, 0, 96)).int(codecV1)
	e = e.int(j.RunID).str(j.Workflow).str(j.Name).str(string(j.Kind)).str(j.HeadSHA).str(j.HeadBranch)
	e = e.time(j.QueuedAt).time(j.StartedAt).time(j.CompletedAt).str(j.Conclusion)
	return e
}

func decodeJob(b []byte, a *arena, j *leadtime.Job) error {
	d := dec{b: b, a: a}
	if v := d.int(); v != codecV1 {
		return errCorrupt
	}
	j.RunID = d.int()
	j.Workflow = d.sym()
	j.Name = d.sym()
	j.Kind = leadtime.JobKind(d.sym())
	j.HeadSHA = d.str()
	j.HeadBranch = d.sym()
	j.QueuedAt = d.time()
	j.StartedAt = d.time()
	j.CompletedAt = d.time()
	j.Conclusion = d.sym()
	return d.err
}

// Incident: the row's columns hold Repo, Number, StartedAt and ResolvedAt.
func encodeIncident(i leadtime.Incident) []byte {
	return enc(make([]byte, 0, 64)).int(codecV1).str(i.Title).str(i.Severity).str(i.Service).str(i.CausedBy).time(i.ReopenedAt)
}

func decodeIncident(b []byte, a *arena, i *leadtime.Incident) error {
	d := dec{b: b, a: a}
	if v := d.int(); v != codecV1 {
		return errCorrupt
	}
	i.Title = d.str()
	i.Severity = d.sym()
	i.Service = d.sym()
	i.CausedBy = d.str()
	i.ReopenedAt = d.time() // zero in rows written before it existed
	return d.err
}
