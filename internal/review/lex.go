package review

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"unicode/utf16"
	"unicode/utf8"
)

// lexer walks a JSON document: it validates and skips values it does not
// need without allocating, and captures the raw bytes of values it does
// need (one resource change at a time) into a reusable buffer. Everything
// it passes over, skipped or captured, is checked against the full JSON
// grammar (RFC 8259, as encoding/json.Valid decides), so what it captures
// is valid JSON. encoding/json.Decoder would hold a whole skipped value
// (prior_state, configuration: most of a big plan) in memory.
type lexer struct {
	r     *bufio.Reader
	off   int64 // bytes consumed
	buf   []byte
	cap   bool // append consumed bytes to buf
	stack []byte
	// capStart is the offset of the last captured value, to place
	// errors found inside it in the file.
	capStart int64
	// marks are the spans of the containers in the last captured value
	// down to markDepth, relative to it, in order of their start.
	marks []span
}

// syntaxError is invalid JSON at an offset (0-based, in the JSON text after
// any byte order mark or decoding); where names the value it is in, such
// as resource_changes[3], when known.
type syntaxError struct {
	off   int64
	where string
	what  string
}

func (e *syntaxError) Error() string {
	if e.where != "" {
		return fmt.Sprintf("invalid JSON at byte %d in %s: %s", e.off, e.where, e.what)
	}
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.what)
}

// truncatedError is a document that ends inside a value.
type truncatedError struct {
	off   int64
	where string
}

func (e *truncatedError) Error() string {
	if e.where != "" {
		return fmt.Sprintf("truncated JSON at byte %d in %s", e.off, e.where)
	}
	return fmt.Sprintf("truncated JSON at byte %d", e.off)
}

// within names where a syntax or truncation error happened, unless a
// narrower place is already named.
func within(err error, where string) error {
	var se *syntaxError
	var te *truncatedError
	switch {
	case errors.As(err, &se):
		if se.where == "" {
			se.where = where
		}
	case errors.As(err, &te):
		if te.where == "" {
			te.where = where
		}
	}
	return err
}

// fail reports a syntax error at the byte just read.
func (l *lexer) fail(format string, args ...any) error {
	return &syntaxError{off: l.off - 1, what: fmt.Sprintf(format, args...)}
}

func (l *lexer) next() (byte, error) {
	c, err := l.r.ReadByte()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return 0, &truncatedError{off: l.off}
		}
		return 0, fmt.Errorf("read at byte %d: %w", l.off, err)
	}
	l.off++
	if l.cap {
		l.buf = append(l.buf, c)
	}
	return c, nil
}

func (l *lexer) unread() {
	_ = l.r.UnreadByte()
	l.off--
	if l.cap {
		l.buf = l.buf[:len(l.buf)-1]
	}
}

// ws skips whitespace and returns the next significant byte, consumed.
func (l *lexer) ws() (byte, error) {
	for {
		c, err := l.next()
		if err != nil {
			return 0, err
		}
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c, nil
	}
}

// atEnd reports whether only whitespace remains.
func (l *lexer) atEnd() (bool, error) {
	_, err := l.ws()
	var te *truncatedError
	if errors.As(err, &te) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	l.unread()
	return false, nil
}

// key reads a string whose opening quote was consumed and returns it
// decoded as encoding/json decodes keys (a lone surrogate becomes U+FFFD),
// keeping at most limit bytes (all when limit < 0) so that a hostile key
// cannot hold memory.
func (l *lexer) key(limit int) (string, error) {
	var out []byte
	put := func(r rune) {
		if limit < 0 || len(out)+utf8.RuneLen(r) <= limit {
			out = utf8.AppendRune(out, r)
		}
	}
	var high rune // a high surrogate waiting for its low half
	for {
		c, err := l.next()
		if err != nil {
			return "", err
		}
		if high != 0 && c != '\\' {
			put(utf8.RuneError)
			high = 0
		}
		switch {
		case c == '"':
			return string(out), nil
		case c == '\\':
			e, err := l.next()
			if err != nil {
				return "", err
			}
			if e != 'u' && high != 0 {
				put(utf8.RuneError)
				high = 0
			}
			switch e {
			case '"', '\\', '/':
				put(rune(e))
			case 'b':
				put('\b')
			case 'f':
				put('\f')
			case 'n':
				put('\n')
			case 'r':
				put('\r')
			case 't':
				put('\t')
			case 'u':
				var r rune
				for i := 0; i < 4; i++ {
					h, err := l.next()
					if err != nil {
						return "", err
					}
					d := unhex(h)
					if d < 0 {
						return "", l.fail("bad \\u escape in string: want 4 hex digits, found %s", found(h))
					}
					r = r<<4 | rune(d)
				}
				switch {
				case high != 0 && r >= 0xDC00 && r <= 0xDFFF:
					put(utf16.DecodeRune(high, r))
					high = 0
				case high != 0:
					put(utf8.RuneError)
					high = 0
					fallthrough
				default:
					if r >= 0xD800 && r <= 0xDBFF {
						high = r
					} else if utf16.IsSurrogate(r) {
						put(utf8.RuneError)
					} else {
						put(r)
					}
				}
			default:
				return "", l.fail("bad escape \\%s in string", printable(e))
			}
		case c < 0x20:
			return "", l.fail("control character %s in string (must be escaped)", found(c))
		default:
			if limit < 0 || len(out) < limit {
				out = append(out, c)
			}
		}
	}
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// maxDepth bounds nesting so a hostile file cannot exhaust the stack; it is
// encoding/json's limit, counting the top-level object.
const maxDepth = 10000

func printable(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(rune(c))
	}
	return fmt.Sprintf("\\x%02x", c)
}

// found names a byte that was not expected, with a hint for common mistakes.
// It quotes one byte at most, never a value.
func found(c byte) string {
	s := fmt.Sprintf("'%s'", printable(c))
	switch {
	case c == '\'':
		return s + " (strings need double quotes)"
	case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_':
		return s + " (a bare word? strings need double quotes; literals are true, false and null)"
	}
	return s
}

// literal consumes the rest of true, false or null.
func (l *lexer) literal(rest string) error {
	for i := 0; i < len(rest); i++ {
		c, err := l.next()
		if err != nil {
			return err
		}
		if c != rest[i] {
			return l.fail("invalid literal: want true, false or null")
		}
	}
	return nil
}

// capture reads one value whose first byte c was consumed, at nesting depth
// depth (the containers it is in), validating it, and returns its raw
// bytes, valid until the next capture.
func (l *lexer) capture(c byte, depth int) ([]byte, error) {
	l.capStart = l.off - 1
	l.buf = append(l.buf[:0], c)
	l.cap = true
	l.marks = l.marks[:0]
	err := l.skip(c, depth)
	l.cap = false
	for i := range l.marks {
		l.marks[i].start -= l.capStart
		l.marks[i].end -= l.capStart
	}
	return l.buf, err
}

// skip validates and passes over one value whose first byte c was consumed,
// at nesting depth depth, a buffer at a time.
func (l *lexer) skip(c byte, depth int) error {
	s := scanner{stack: l.stack[:0], depth: depth, marking: l.cap, marks: l.marks[:0]}
	first := [1]byte{c}
	_, done, err := s.scan(first[:], l.off-1)
	for err == nil && !done {
		if _, err = l.r.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				err = &truncatedError{off: l.off}
			} else {
				err = fmt.Errorf("read at byte %d: %w", l.off, err)
			}
			break
		}
		win, _ := l.r.Peek(l.r.Buffered())
		var n int
		n, done, err = s.scan(win, l.off)
		if l.cap {
			l.buf = append(l.buf, win[:n]...)
		}
		_, _ = l.r.Discard(n)
		l.off += int64(n)
	}
	l.stack = s.stack[:0]
	if l.cap {
		l.marks = s.marks
	}
	return err
}

// Scanner states: where in the grammar the next byte is.
const (
	sValue    = iota // a value, after ':' or at the start
	sElem            // an array element, after ','
	sFirst           // an array element or ']', after '['
	sKeyFirst        // a key or '}', after '{'
	sKey             // a key, after ',' in an object
	sColon           // ':' after a key
	sAfter           // ',' or the closing bracket, after a value
	sStr             // inside a string
	sEsc             // after '\' in a string
	sHex             // in the 4 hex digits of \u
	sNeg             // after '-'
	sZero            // after a leading 0
	sInt             // in the integer digits
	sDot             // after '.'
	sFrac            // in the fraction digits
	sExpMark         // after 'e' or 'E'
	sExpSign         // after the exponent's sign
	sExp             // in the exponent digits
	sLit             // inside true, false or null
)

// scanner is the state of the JSON grammar across buffer windows: the
// whole of encoding/json's checker, as a flat state machine that runs over
// string content (most of a plan) without looking at each state.
type scanner struct {
	// marking records in marks where the containers of the first
	// markDepth levels start and end (capture: see lexer.marks).
	marking bool
	marks   []span
	opened  [markDepth]int // index in marks of the open container per level
	st      uint8
	key     bool   // the string being read is an object key
	hex     uint8  // \u digits still to read
	lit     string // the rest of a literal
	stack   []byte // open brackets
	depth   int    // containers around the value
}

// scan reads win, which starts at offset off, until the value ends. It
// returns the bytes consumed and whether the value ended; a number ends at
// the first byte after it, which is not consumed.
func (s *scanner) scan(win []byte, off int64) (int, bool, error) {
	st, key, hex, lit, stack := s.st, s.key, s.hex, s.lit, s.stack
	room := maxDepth - s.depth // brackets that may still open
	var err error
	done := false
	i := 0
scan:
	for ; i < len(win); i++ {
		b := win[i]
		switch st {
		case sStr:
			if !strStop[b] {
				// Most of a plan is string content: run to the next
				// byte that matters, eight at a time.
				i++
				for {
					if i+8 > len(win) {
						for i < len(win) && !strStop[win[i]] {
							i++
						}
						break
					}
					if m := stops(binary.LittleEndian.Uint64(win[i:])); m != 0 {
						i += bits.TrailingZeros64(m) >> 3
						break
					}
					i += 8
				}
				if i == len(win) {
					break scan
				}
				b = win[i]
			}
			switch b {
			case '"':
				if key {
					// Take `":` and a string value's opening quote at
					// once: most members of a plan are "key":"value".
					st = sColon
					if i+2 < len(win) && win[i+1] == ':' {
						i++
						st = sValue
						if win[i+1] == '"' {
							i++
							st, key = sStr, false
						}
					}
					continue
				}
			case '\\':
				st = sEsc
				continue
			default:
				err = synErr(off, i, "control character %s in string (must be escaped)", found(b))
				break scan
			}
		case sAfter:
			switch b {
			case ' ', '\t', '\n', '\r':
				continue
			case ',':
				if stack[len(stack)-1] == '{' {
					st = sKey
				} else {
					st = sElem
				}
				continue
			case '}', ']':
				if open := stack[len(stack)-1]; (b == '}') != (open == '{') {
					err = synErr(off, i, "'%c' closes '%c'", b, open)
					break scan
				}
				if s.marking && len(stack) <= markDepth {
					s.close(len(stack), off+int64(i))
				}
				stack = stack[:len(stack)-1]
			default:
				if stack[len(stack)-1] == '{' {
					err = synErr(off, i, "expected ',' or '}' after an object member, found %s (missing comma?)", found(b))
				} else {
					err = synErr(off, i, "expected ',' or ']' after an array element, found %s (missing comma?)", found(b))
				}
				break scan
			}
		case sKeyFirst, sKey:
			switch b {
			case ' ', '\t', '\n', '\r':
				continue
			case '"':
				st, key = sStr, true
				continue
			case '}':
				if st == sKey {
					err = synErr(off, i, "trailing comma before '}'")
					break scan
				}
				if s.marking && len(stack) <= markDepth {
					s.close(len(stack), off+int64(i))
				}
				stack = stack[:len(stack)-1]
			default:
				if st == sKey {
					err = synErr(off, i, "expected a string key after ',', found %s", found(b))
				} else {
					err = synErr(off, i, "expected a string key or '}', found %s", found(b))
				}
				break scan
			}
		case sColon:
			switch b {
			case ' ', '\t', '\n', '\r':
				continue
			case ':':
				st = sValue
				continue
			default:
				err = synErr(off, i, "expected ':' after an object key, found %s", found(b))
				break scan
			}
		case sValue, sElem, sFirst:
			switch b {
			case ' ', '\t', '\n', '\r':
				continue
			case '"':
				st, key = sStr, false
				continue
			case '{', '[':
				if len(stack) >= room {
					err = synErr(off, i, "nested more than %d deep", maxDepth)
					break scan
				}
				stack = append(stack, b)
				if s.marking && len(stack) <= markDepth {
					s.open(len(stack), off+int64(i))
				}
				st = sKeyFirst
				if b == '[' {
					st = sFirst
				}
				continue
			case 't':
				st, lit = sLit, "rue"
				continue
			case 'f':
				st, lit = sLit, "alse"
				continue
			case 'n':
				st, lit = sLit, "ull"
				continue
			case '-':
				st = sNeg
				continue
			case '0':
				st = sZero
				continue
			case '1', '2', '3', '4', '5', '6', '7', '8', '9':
				st = sInt
				continue
			case ']':
				if st == sFirst {
					if s.marking && len(stack) <= markDepth {
						s.close(len(stack), off+int64(i))
					}
					stack = stack[:len(stack)-1]
					break
				}
				if st == sElem {
					err = synErr(off, i, "trailing comma before ']'")
				} else {
					err = synErr(off, i, "expected a value, found ']'")
				}
				break scan
			case ',':
				if st == sValue {
					err = synErr(off, i, "expected a value, found ','")
				} else {
					err = synErr(off, i, "expected a value, found ',' (two commas, or a comma after '['?)")
				}
				break scan
			default:
				err = synErr(off, i, "expected a value, found %s", found(b))
				break scan
			}
		case sEsc:
			switch b {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				st = sStr
			case 'u':
				st, hex = sHex, 4
			default:
				err = synErr(off, i, "bad escape \\%s in string", printable(b))
				break scan
			}
			continue
		case sHex:
			if unhex(b) < 0 {
				err = synErr(off, i, "bad \\u escape in string: want 4 hex digits, found %s", found(b))
				break scan
			}
			if hex--; hex == 0 {
				st = sStr
			}
			continue
		case sLit:
			if b != lit[0] {
				err = synErr(off, i, "invalid literal: want true, false or null")
				break scan
			}
			if lit = lit[1:]; lit != "" {
				continue
			}
		case sNeg:
			switch {
			case b == '0':
				st = sZero
			case b >= '1' && b <= '9':
				st = sInt
			default:
				err = synErr(off, i, "expected a digit after '-', found %s", found(b))
				break scan
			}
			continue
		case sZero:
			switch {
			case b == '.':
				st = sDot
				continue
			case b == 'e' || b == 'E':
				st = sExpMark
				continue
			case b >= '0' && b <= '9':
				err = synErr(off, i, "leading zero in number")
				break scan
			}
			goto numEnd
		case sInt:
			for b >= '0' && b <= '9' {
				if i++; i == len(win) {
					break scan
				}
				b = win[i]
			}
			switch b {
			case '.':
				st = sDot
				continue
			case 'e', 'E':
				st = sExpMark
				continue
			}
			goto numEnd
		case sDot:
			if b < '0' || b > '9' {
				err = synErr(off, i, "expected a digit after the decimal point, found %s", found(b))
				break scan
			}
			st = sFrac
			continue
		case sFrac:
			for b >= '0' && b <= '9' {
				if i++; i == len(win) {
					break scan
				}
				b = win[i]
			}
			if b == 'e' || b == 'E' {
				st = sExpMark
				continue
			}
			goto numEnd
		case sExpMark, sExpSign:
			switch {
			case b >= '0' && b <= '9':
				st = sExp
			case st == sExpMark && (b == '+' || b == '-'):
				st = sExpSign
			default:
				err = synErr(off, i, "expected a digit in the exponent, found %s", found(b))
				break scan
			}
			continue
		case sExp:
			for b >= '0' && b <= '9' {
				if i++; i == len(win) {
					break scan
				}
				b = win[i]
			}
			goto numEnd
		}
		// A value ended with b.
		if len(stack) == 0 {
			i++
			done = true
			break scan
		}
		st = sAfter
		// Take `,"` at once, the start of the next key in an object.
		if i+2 < len(win) && win[i+1] == ',' && win[i+2] == '"' {
			i += 2
			st, key = sStr, stack[len(stack)-1] == '{'
		}
		continue
	numEnd:
		// A number ended before b, which is looked at again.
		if len(stack) == 0 {
			done = true
			break scan
		}
		st = sAfter
		i--
	}
	s.st, s.key, s.hex, s.lit, s.stack = st, key, hex, lit, stack
	return i, done, err
}

// markDepth is how deep capture records containers: the resource change,
// its change object, and the values in that (before, after and their
// masks), which the field picker then passes over without a look.
const markDepth = 3

// span is where a container starts and ends (just past its closing
// bracket), as offsets in the document until capture makes them relative
// to the captured value.
type span struct{ start, end int64 }

// maxMarks bounds the spans recorded per captured value (a resource
// change has about ten), so that a hostile one full of small containers
// costs no more memory than its text: the rest are found by scanning.
const maxMarks = 256

func (s *scanner) open(level int, at int64) {
	if len(s.marks) >= maxMarks {
		s.opened[level-1] = -1
		return
	}
	s.opened[level-1] = len(s.marks)
	s.marks = append(s.marks, span{at, -1})
}

func (s *scanner) close(level int, at int64) {
	if i := s.opened[level-1]; i >= 0 {
		s.marks[i].end = at + 1
	}
}

func synErr(off int64, i int, format string, args ...any) error {
	return &syntaxError{off: off + int64(i), what: fmt.Sprintf(format, args...)}
}

// utf16Reader converts UTF-16 (after its byte order mark) to UTF-8 as
// unicode/utf16.Decode does: an unpaired surrogate becomes U+FFFD.
type utf16Reader struct {
	r       *bufio.Reader
	big     bool
	pending []byte
	// held is a unit read after a high surrogate that was not its pair.
	held    rune
	hasHeld bool
}

func (u *utf16Reader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(u.pending) > 0 {
			k := copy(p[n:], u.pending)
			u.pending = u.pending[k:]
			n += k
			continue
		}
		r, err := u.unit()
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				return n, nil
			}
			return n, err
		}
		if r >= 0xD800 && r <= 0xDBFF {
			r2, err := u.unit()
			switch {
			case err == nil && r2 >= 0xDC00 && r2 <= 0xDFFF:
				r = utf16.DecodeRune(r, r2)
			case err == nil:
				r = utf8.RuneError
				u.held, u.hasHeld = r2, true
			case errors.Is(err, io.EOF):
				r = utf8.RuneError
			default:
				return n, err
			}
		} else if utf16.IsSurrogate(r) {
			r = utf8.RuneError
		}
		u.pending = utf8.AppendRune(u.pending[:0], r)
	}
	return n, nil
}

// errOddUTF16 is UTF-16 input that ends in half a code unit.
var errOddUTF16 = errors.New("UTF-16 input ends in the middle of a character (truncated?)")

func (u *utf16Reader) unit() (rune, error) {
	if u.hasHeld {
		u.hasHeld = false
		return u.held, nil
	}
	var b [2]byte
	if _, err := io.ReadFull(u.r, b[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, errOddUTF16
		}
		return 0, err
	}
	if u.big {
		return rune(b[0])<<8 | rune(b[1]), nil
	}
	return rune(b[1])<<8 | rune(b[0]), nil
}

// stops marks, in the high bit of each of the 8 bytes of x (the first in
// the lowest), the strStop bytes: quotes, backslashes and control
// characters. Only the lowest mark is sure to be exact (a borrow can mark
// the byte after a true one), which is all scan uses.
func stops(x uint64) uint64 {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	quote := x ^ ('"' * ones)
	bslash := x ^ ('\\' * ones)
	// b-n borrows into the high bit of a byte b < n, unless that bit
	// was set already (&^ x): the classic "has a byte less than n".
	return ((quote-ones)&^quote | (bslash-ones)&^bslash | (x-0x20*ones)&^x) & highs
}

// strStop marks the bytes that end a run of plain string content.
var strStop [256]bool

func init() {
	for c := 0; c < 0x20; c++ {
		strStop[c] = true
	}
	strStop['"'], strStop['\\'] = true, true
}
