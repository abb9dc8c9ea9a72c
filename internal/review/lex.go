package review

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// lexer walks a JSON document byte by byte: it validates and skips values
// it does not need without allocating, and captures the raw bytes of values
// it does need (one resource change at a time) into a reusable buffer for
// encoding/json. encoding/json.Decoder would hold a whole skipped value
// (prior_state, configuration: most of a big plan) in memory.
type lexer struct {
	r     *bufio.Reader
	off   int64 // bytes consumed
	buf   []byte
	cap   bool // append consumed bytes to buf
	stack []byte
	// capStart is the offset of the last captured value, to place
	// encoding/json's errors in the file.
	capStart int64
}

// errSyntax is a JSON syntax error at an offset; errEOF an early end.
type syntaxError struct {
	off  int64
	what string
}

func (e *syntaxError) Error() string {
	return fmt.Sprintf("invalid JSON at byte %d: %s", e.off, e.what)
}

type truncatedError struct{ off int64 }

func (e *truncatedError) Error() string { return fmt.Sprintf("truncated JSON at byte %d", e.off) }

// fail reports a syntax error at the byte just read (0-based offset).
func (l *lexer) fail(what string) error { return &syntaxError{off: l.off - 1, what: what} }

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

// str reads a string whose opening quote was consumed and returns it when
// keep is set (keys; short), otherwise only validates it.
func (l *lexer) str(keep bool) (string, error) {
	var out []byte
	for {
		// Fast path: scan the buffered bytes for the closing quote or an
		// escape without going through next() per byte.
		if !keep {
			if b, _ := l.r.Peek(l.r.Buffered()); len(b) > 0 {
				i := 0
				for i < len(b) && b[i] != '"' && b[i] != '\\' && b[i] >= 0x20 {
					i++
				}
				if i > 0 {
					if l.cap {
						l.buf = append(l.buf, b[:i]...)
					}
					_, _ = l.r.Discard(i)
					l.off += int64(i)
				}
			}
		}
		c, err := l.next()
		if err != nil {
			return "", err
		}
		switch {
		case c == '"':
			return string(out), nil
		case c == '\\':
			e, err := l.next()
			if err != nil {
				return "", err
			}
			switch e {
			case '"', '\\', '/':
				out = append(out, e)
			case 'b':
				out = append(out, '\b')
			case 'f':
				out = append(out, '\f')
			case 'n':
				out = append(out, '\n')
			case 'r':
				out = append(out, '\r')
			case 't':
				out = append(out, '\t')
			case 'u':
				var r rune
				for i := 0; i < 4; i++ {
					h, err := l.next()
					if err != nil {
						return "", err
					}
					d := unhex(h)
					if d < 0 {
						return "", l.fail("bad \\u escape in string")
					}
					r = r<<4 | rune(d)
				}
				if keep {
					if utf16.IsSurrogate(r) {
						r = utf8.RuneError
					}
					out = utf8.AppendRune(out, r)
				}
			default:
				return "", l.fail("bad escape in string")
			}
		case c < 0x20:
			return "", l.fail("control character in string")
		default:
			if keep {
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

// maxDepth bounds nesting so a hostile file cannot exhaust the stack.
const maxDepth = 10000

// value validates (and, when capturing, records) one value whose first
// byte c was consumed.
func (l *lexer) value(c byte, depth int) error {
	if depth > maxDepth {
		return l.fail("nested too deeply")
	}
	switch c {
	case '{':
		c, err := l.ws()
		if err != nil {
			return err
		}
		if c == '}' {
			return nil
		}
		for {
			if c != '"' {
				return l.fail("expected a string key")
			}
			if _, err := l.str(false); err != nil {
				return err
			}
			if c, err = l.ws(); err != nil {
				return err
			}
			if c != ':' {
				return l.fail("expected ':' after key")
			}
			if c, err = l.ws(); err != nil {
				return err
			}
			if err := l.value(c, depth+1); err != nil {
				return err
			}
			if c, err = l.ws(); err != nil {
				return err
			}
			switch c {
			case '}':
				return nil
			case ',':
				if c, err = l.ws(); err != nil {
					return err
				}
			default:
				return l.fail("expected ',' or '}' in object")
			}
		}
	case '[':
		c, err := l.ws()
		if err != nil {
			return err
		}
		if c == ']' {
			return nil
		}
		for {
			if err := l.value(c, depth+1); err != nil {
				return err
			}
			if c, err = l.ws(); err != nil {
				return err
			}
			switch c {
			case ']':
				return nil
			case ',':
				if c, err = l.ws(); err != nil {
					return err
				}
			default:
				return l.fail("expected ',' or ']' in array")
			}
		}
	case '"':
		_, err := l.str(false)
		return err
	case 't':
		return l.literal("rue")
	case 'f':
		return l.literal("alse")
	case 'n':
		return l.literal("ull")
	default:
		if c == '-' || (c >= '0' && c <= '9') {
			return l.number()
		}
		return l.fail(fmt.Sprintf("unexpected character %q", printable(c)))
	}
}

func printable(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return string(rune(c))
	}
	return fmt.Sprintf("\\x%02x", c)
}

func (l *lexer) literal(rest string) error {
	for i := 0; i < len(rest); i++ {
		c, err := l.next()
		if err != nil {
			return err
		}
		if c != rest[i] {
			return l.fail("invalid literal")
		}
	}
	return nil
}

// number consumes the rest of a number loosely; captured numbers are
// checked again by encoding/json.
func (l *lexer) number() error {
	for {
		c, err := l.next()
		if err != nil {
			var te *truncatedError
			if errors.As(err, &te) {
				return nil
			}
			return err
		}
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			l.unread()
			return nil
		}
	}
}

// capture reads one value whose first byte c was consumed and returns its
// raw bytes, valid until the next capture. Objects and arrays are only
// checked for balance here; encoding/json validates what is captured.
func (l *lexer) capture(c byte) ([]byte, error) {
	l.capStart = l.off - 1
	l.buf = append(l.buf[:0], c)
	l.cap = true
	err := l.skip(c)
	l.cap = false
	return l.buf, err
}

// skip passes over one value whose first byte c was consumed. Objects and
// arrays are scanned a buffer at a time, checking bracket balance, string
// syntax and the character set, not the full grammar: what is skipped is
// never used, and what is captured is validated by encoding/json.
func (l *lexer) skip(c byte) error {
	if c != '{' && c != '[' {
		return l.value(c, 0)
	}
	stack := append(l.stack[:0], c)
	defer func() { l.stack = stack[:0] }()
	inStr, esc := false, false
	for {
		if _, err := l.r.Peek(1); err != nil {
			if errors.Is(err, io.EOF) {
				return &truncatedError{off: l.off}
			}
			return fmt.Errorf("read at byte %d: %w", l.off, err)
		}
		win, _ := l.r.Peek(l.r.Buffered())
		i := 0
		done := false
	scan:
		for ; i < len(win); i++ {
			b := win[i]
			if inStr && !esc {
				// Most of a plan is string content: run to the next
				// byte that matters.
				for i < len(win) && !strStop[win[i]] {
					i++
				}
				if i == len(win) {
					break
				}
				b = win[i]
			}
			if inStr {
				switch {
				case esc:
					esc = false
					if !strings.ContainsRune(`"\\/bfnrtu`, rune(b)) {
						return &syntaxError{off: l.off + int64(i), what: "bad escape in string"}
					}
				case b == '\\':
					esc = true
				case b == '"':
					inStr = false
				case b < 0x20:
					return &syntaxError{off: l.off + int64(i), what: "control character in string"}
				}
				continue
			}
			switch b {
			case '"':
				inStr = true
			case '{', '[':
				if len(stack) >= maxDepth {
					return &syntaxError{off: l.off + int64(i), what: "nested too deeply"}
				}
				stack = append(stack, b)
			case '}', ']':
				open := stack[len(stack)-1]
				if (b == '}') != (open == '{') {
					return &syntaxError{off: l.off + int64(i), what: fmt.Sprintf("%q closes %q", b, open)}
				}
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					i++
					done = true
					break scan
				}
			default:
				if !plainByte[b] {
					return &syntaxError{off: l.off + int64(i), what: fmt.Sprintf("unexpected character %q", printable(b))}
				}
			}
		}
		if l.cap {
			l.buf = append(l.buf, win[:i]...)
		}
		_, _ = l.r.Discard(i)
		l.off += int64(i)
		if done {
			return nil
		}
	}
}

// utf16Reader converts UTF-16 (after its byte order mark) to UTF-8.
type utf16Reader struct {
	r       *bufio.Reader
	big     bool
	pending []byte
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
		if utf16.IsSurrogate(r) {
			r2, err := u.unit()
			if err == nil {
				r = utf16.DecodeRune(r, r2)
			} else {
				r = utf8.RuneError
			}
		}
		var tmp [4]byte
		k := utf8.EncodeRune(tmp[:], r)
		u.pending = append(u.pending[:0], tmp[:k]...)
	}
	return n, nil
}

func (u *utf16Reader) unit() (rune, error) {
	var b [2]byte
	if _, err := io.ReadFull(u.r, b[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return 0, io.EOF
		}
		return 0, err
	}
	if u.big {
		return rune(b[0])<<8 | rune(b[1]), nil
	}
	return rune(b[1])<<8 | rune(b[0]), nil
}

// strStop marks the bytes that end a run of plain string content;
// plainByte the bytes allowed outside strings besides brackets and quotes.
var strStop, plainByte [256]bool

func init() {
	for c := 0; c < 0x20; c++ {
		strStop[c] = true
	}
	strStop['"'], strStop['\\'] = true, true
	for _, c := range []byte(" \t\n\r:,.+-") {
		plainByte[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		plainByte[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		plainByte[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		plainByte[c] = true
	}
}
