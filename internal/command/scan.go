package command

import "strings"

// The scanner finds the lines of a comment that start with /tasuki and
// that GitHub renders as ordinary text: not in a code block (fenced or
// indented), not in a block quote (a lazy continuation line included), not
// in an HTML block, a table, an inline code span, an HTML comment or tag,
// or a link reference definition.
//
// It ports the block structure of CommonMark's reference parser
// (commonmark.js, "incorporateLine"): containers (block quotes, list items)
// are matched line by line, then leaf blocks are opened. Only what decides
// where text sits is kept; nothing is rendered. Inline analysis runs on each
// paragraph once it is closed (inline.go). Links and emphasis are not
// modelled: a command in the text of a link, or in its title over several
// lines, still counts.
//
// Cost: each line is matched against at most MaxDepth open blocks, and
// everything else is linear in the line, so a scan is O(len(body) *
// MaxDepth) in time and O(len(body)) in memory. A comment nested deeper than
// MaxDepth is read up to the line that would go deeper; nothing from there
// on counts (Parsed.TooDeep).

type blockKind uint8

const (
	kDocument blockKind = iota
	kQuote
	kList
	kItem
	kParagraph
	kFence
	kIndented
	kHTML
)

type block struct {
	kind blockKind
	// list and item: the list marker
	bullet    byte // '-', '+', '*' for bullet lists; 0 for ordered
	delim     byte // '.' or ')' for ordered lists
	contentAt int  // item: columns of marker offset plus padding
	hasChild  bool // item: some block was added to it
	// fence
	fenceChar   byte
	fenceLen    int
	fenceIndent int
	// html
	htmlType int
	// paragraph
	para *paragraph
}

// paragraph collects what inline analysis needs: the content of each line
// and which lines are candidate commands.
type paragraph struct {
	pieces     []piece
	candidates []int // indexes into pieces
	tableFrom  int   // pieces from this index on are table rows; -1 when no table
	quoted     bool  // inside a block quote: nothing in it counts
	bracket    bool  // the first line starts with '['
	colon      bool  // "]:" seen (see refDefLike)
}

type piece struct {
	start, end int // the line's content in the body, leading white space dropped
	line       int // 1-based line number
}

// found is a candidate that survived: the byte offset of its "/tasuki" and
// its line number.
type found struct {
	at, line int
}

type scanner struct {
	body  string
	open  []*block // open[0] is the document
	found []found
	// the current line
	ln                       string
	lineStart, lineNo        int
	offset, column           int
	nextNonspace, nextNSCol  int
	indent                   int
	indented, blank, partial bool
	allClosed                bool
	oldTip, lastMatched      int // indexes into open
	tooDeep                  bool
}

// scan returns the candidate lines of body in order. When stopEarly is set
// the open paragraph at the end is dropped rather than closed, because the
// body was cut and the rest of that paragraph is unknown.
func scan(body string, stopEarly bool) (out []found, tooDeep bool) {
	s := &scanner{body: body, open: []*block{{kind: kDocument}}}
	pos, no := 0, 0
	for pos < len(body) {
		end, next := lineEnd(body, pos)
		no++
		s.incorporate(body[pos:end], pos, no)
		if s.tooDeep {
			s.dropParagraph()
			return s.found, true
		}
		pos = next
	}
	if stopEarly {
		s.dropParagraph()
	}
	s.closeFrom(1)
	return s.found, false
}

// lineEnd returns the end of the line starting at pos and the start of the
// next one. Lines end at "\n", "\r\n" or "\r", as in CommonMark.
func lineEnd(body string, pos int) (end, next int) {
	i := strings.IndexAny(body[pos:], "\r\n")
	if i < 0 {
		return len(body), len(body)
	}
	end = pos + i
	if body[end] == '\r' && end+1 < len(body) && body[end+1] == '\n' {
		return end, end + 2
	}
	return end, end + 1
}

func (s *scanner) tip() *block { return s.open[len(s.open)-1] }

func (s *scanner) findNextNonspace() {
	i, cols := s.offset, s.column
	for i < len(s.ln) {
		c := s.ln[i]
		if c == ' ' {
			i++
			cols++
		} else if c == '\t' {
			i++
			cols += 4 - cols%4
		} else {
			break
		}
	}
	s.blank = i == len(s.ln)
	s.nextNonspace, s.nextNSCol = i, cols
	s.indent = cols - s.column
	s.indented = s.indent >= 4
}

func (s *scanner) advanceNextNonspace() {
	s.offset, s.column, s.partial = s.nextNonspace, s.nextNSCol, false
}

func (s *scanner) advanceOffset(count int, columns bool) {
	for count > 0 && s.offset < len(s.ln) {
		if s.ln[s.offset] == '\t' {
			toTab := 4 - s.column%4
			if columns {
				s.partial = toTab > count
				adv := min(toTab, count)
				s.column += adv
				if !s.partial {
					s.offset++
				}
				count -= adv
			} else {
				s.partial = false
				s.column += toTab
				s.offset++
				count--
			}
			continue
		}
		s.partial = false
		s.offset++
		s.column++
		count--
	}
}

func (s *scanner) peek(i int) byte {
	if i < len(s.ln) {
		return s.ln[i]
	}
	return 0
}

// incorporate processes one line (commonmark.js incorporateLine).
func (s *scanner) incorporate(ln string, start, no int) {
	s.ln, s.lineStart, s.lineNo = ln, start, no
	s.offset, s.column, s.blank, s.partial = 0, 0, false, false
	s.oldTip = len(s.open) - 1

	// Match the open containers; stop at the first that does not continue.
	matched := 0
match:
	for i := 1; i < len(s.open); i++ {
		s.findNextNonspace()
		switch s.continues(s.open[i]) {
		case contMatched:
			matched = i
		case contClosedFence:
			s.closeFrom(i)
			return
		default:
			break match
		}
	}
	s.lastMatched = matched
	s.allClosed = matched == s.oldTip

	container := matched
	ck := s.open[container].kind
	matchedLeaf := ck != kParagraph && acceptsLines(ck)
	for !matchedLeaf {
		s.findNextNonspace()
		if !s.indented && !maybeSpecial(s.peek(s.nextNonspace)) {
			s.advanceNextNonspace()
			break
		}
		res := s.blockStart(container)
		if s.tooDeep {
			return
		}
		if res == startNone {
			s.advanceNextNonspace()
			break
		}
		container = len(s.open) - 1
		if res == startLeaf {
			matchedLeaf = true
		}
	}

	tip := s.tip()
	if !s.allClosed && !s.blank && tip.kind == kParagraph {
		s.addParagraphLine(tip.para, true) // lazy continuation
		return
	}
	s.closeUnmatched()
	c := s.open[container]
	switch c.kind {
	case kParagraph:
		s.addParagraphLine(c.para, false)
	case kHTML:
		if c.htmlType >= 1 && c.htmlType <= 5 && htmlBlockCloses(c.htmlType, s.ln[s.offset:]) {
			s.closeFrom(container)
		}
	case kFence, kIndented:
		// code: nothing to find
	default:
		if s.offset < len(s.ln) && !s.blank {
			s.addChild(kParagraph)
			if s.tooDeep {
				return
			}
			s.advanceNextNonspace()
			s.addParagraphLine(s.tip().para, false)
		}
	}
}

func acceptsLines(k blockKind) bool {
	return k == kParagraph || k == kFence || k == kIndented || k == kHTML
}

// maybeSpecial reports whether a line's first non-space byte may start a
// block (commonmark.js reMaybeSpecial); others are paragraph text.
func maybeSpecial(c byte) bool {
	switch c {
	case '#', '`', '~', '*', '+', '_', '=', '<', '>', '-':
		return true
	}
	return c >= '0' && c <= '9'
}

type contResult int

const (
	contMatched contResult = iota
	contFailed
	contClosedFence
)

// continues reports whether the current line continues an open block, and
// consumes its marker (commonmark.js blocks[type].continue).
func (s *scanner) continues(b *block) contResult {
	switch b.kind {
	case kQuote:
		if !s.indented && s.peek(s.nextNonspace) == '>' {
			s.advanceNextNonspace()
			s.advanceOffset(1, false)
			if c := s.peek(s.offset); c == ' ' || c == '\t' {
				s.advanceOffset(1, true)
			}
			return contMatched
		}
		return contFailed
	case kList:
		return contMatched
	case kItem:
		if s.blank {
			if !b.hasChild {
				return contFailed // a blank line after an empty item ends it
			}
			s.advanceNextNonspace()
			return contMatched
		}
		if s.indent >= b.contentAt {
			s.advanceOffset(b.contentAt, true)
			return contMatched
		}
		return contFailed
	case kFence:
		if s.indent <= 3 && s.peek(s.nextNonspace) == b.fenceChar {
			if n := closingFence(s.ln[s.nextNonspace:], b.fenceChar); n >= b.fenceLen {
				return contClosedFence
			}
		}
		for i := b.fenceIndent; i > 0; i-- {
			if c := s.peek(s.offset); c != ' ' && c != '\t' {
				break
			}
			s.advanceOffset(1, true)
		}
		return contMatched
	case kIndented:
		if s.indent >= 4 {
			s.advanceOffset(4, true)
			return contMatched
		}
		if s.blank {
			s.advanceNextNonspace()
			return contMatched
		}
		return contFailed
	case kHTML:
		if s.blank && (b.htmlType == 6 || b.htmlType == 7) {
			return contFailed
		}
		return contMatched
	case kParagraph:
		if s.blank {
			return contFailed
		}
		return contMatched
	}
	return contFailed
}

// closingFence returns the length of the fence run if rest is a closing
// fence of c (a run of at least three, then only spaces and tabs), else 0.
func closingFence(rest string, c byte) int {
	n := runOf(rest, c)
	if n < 3 || strings.TrimRight(rest[n:], " \t") != "" {
		return 0
	}
	return n
}

func runOf(s string, c byte) int {
	n := 0
	for n < len(s) && s[n] == c {
		n++
	}
	return n
}

type startResult int

const (
	startNone startResult = iota
	startContainer
	startLeaf
)

// blockStart tries to open a block at the current position under the
// block open[container] (commonmark.js blockStarts, in its order).
func (s *scanner) blockStart(container int) startResult {
	rest := s.ln[s.nextNonspace:]
	cont := s.open[container]
	c := s.peek(s.nextNonspace)
	if !s.indented {
		switch {
		case c == '>': // block quote
			s.advanceNextNonspace()
			s.advanceOffset(1, false)
			if c := s.peek(s.offset); c == ' ' || c == '\t' {
				s.advanceOffset(1, true)
			}
			s.closeUnmatched()
			s.addChild(kQuote)
			return startContainer
		case c == '#' && atxHeading(rest):
			s.closeUnmatched()
			s.addClosedLeaf()
			return startLeaf
		case c == '`' || c == '~':
			if n := openingFence(rest); n > 0 {
				s.closeUnmatched()
				b := s.addChild(kFence)
				if b != nil {
					b.fenceChar, b.fenceLen, b.fenceIndent = c, n, s.indent
				}
				return startLeaf
			}
		case c == '<':
			for t := 1; t <= 7; t++ {
				if !htmlBlockOpens(t, rest) {
					continue
				}
				if t == 7 && (cont.kind == kParagraph || (!s.allClosed && !s.blank && s.tip().kind == kParagraph)) {
					continue // type 7 cannot interrupt a paragraph
				}
				s.closeUnmatched()
				if b := s.addChild(kHTML); b != nil {
					b.htmlType = t
				}
				return startLeaf
			}
		}
		if cont.kind == kParagraph && setextLine(rest) {
			if cont.para.refDefLike() && rest[0] == '=' {
				// The paragraph may be nothing but link reference
				// definitions, and then this line continues it; keeping it
				// open is the reading that hides more.
				return startNone
			}
			s.closeUnmatched()
			s.closeFrom(container) // the paragraph becomes a heading
			s.offset = len(s.ln)
			return startLeaf
		}
		if thematicBreak(rest) {
			s.closeUnmatched()
			s.addClosedLeaf()
			return startLeaf
		}
	}
	if !s.indented || cont.kind == kList {
		if ok, bullet, delim, width := s.listMarker(cont); ok {
			s.closeUnmatched()
			tip := s.tip()
			if tip.kind != kList || tip.bullet != bullet || tip.delim != delim {
				l := s.addChild(kList)
				if l == nil {
					return startNone
				}
				l.bullet, l.delim = bullet, delim
			}
			it := s.addChild(kItem)
			if it == nil {
				return startNone
			}
			it.bullet, it.delim, it.contentAt = bullet, delim, width
			return startContainer
		}
	}
	if s.indented && s.tip().kind != kParagraph && !s.blank {
		s.advanceOffset(4, true)
		s.closeUnmatched()
		s.addChild(kIndented)
		return startLeaf
	}
	return startNone
}

// listMarker parses a list item marker at the current position
// (commonmark.js parseListMarker) and advances past it and its padding.
func (s *scanner) listMarker(cont *block) (ok bool, bullet, delim byte, contentAt int) {
	if s.indent >= 4 {
		return false, 0, 0, 0
	}
	rest := s.ln[s.nextNonspace:]
	markerOffset := s.indent
	n := 0
	switch {
	case len(rest) > 0 && (rest[0] == '-' || rest[0] == '+' || rest[0] == '*'):
		bullet, n = rest[0], 1
	default:
		d := 0
		for d < len(rest) && d < 10 && rest[d] >= '0' && rest[d] <= '9' {
			d++
		}
		if d == 0 || d > 9 || d >= len(rest) || (rest[d] != '.' && rest[d] != ')') {
			return false, 0, 0, 0
		}
		if cont.kind == kParagraph && strings.TrimLeft(rest[:d], "0") != "1" {
			return false, 0, 0, 0
		}
		delim, n = rest[d], d+1
	}
	if n < len(rest) && rest[n] != ' ' && rest[n] != '\t' {
		return false, 0, 0, 0
	}
	if cont.kind == kParagraph && strings.Trim(rest[n:], " \t") == "" {
		return false, 0, 0, 0
	}
	s.advanceNextNonspace()
	s.advanceOffset(n, true)
	startCol, startOff := s.column, s.offset
	for {
		s.advanceOffset(1, true)
		c := s.peek(s.offset)
		if !(s.column-startCol < 5 && (c == ' ' || c == '\t')) {
			break
		}
	}
	blankItem := s.offset >= len(s.ln)
	spaces := s.column - startCol
	padding := n + spaces
	if spaces >= 5 || spaces < 1 || blankItem {
		padding = n + 1
		s.column, s.offset = startCol, startOff
		if c := s.peek(s.offset); c == ' ' || c == '\t' {
			s.advanceOffset(1, true)
		}
	}
	return true, bullet, delim, markerOffset + padding
}

func atxHeading(rest string) bool {
	n := runOf(rest, '#')
	return n >= 1 && n <= 6 && (n == len(rest) || rest[n] == ' ' || rest[n] == '\t')
}

// openingFence returns the fence length if rest opens a fenced code block.
func openingFence(rest string) int {
	c := rest[0]
	n := runOf(rest, c)
	if n < 3 || (c == '`' && strings.IndexByte(rest[n:], '`') >= 0) {
		return 0
	}
	return n
}

func setextLine(rest string) bool {
	if rest == "" || (rest[0] != '=' && rest[0] != '-') {
		return false
	}
	n := runOf(rest, rest[0])
	return strings.Trim(rest[n:], " \t") == ""
}

func thematicBreak(rest string) bool {
	if rest == "" {
		return false
	}
	c := rest[0]
	if c != '*' && c != '_' && c != '-' {
		return false
	}
	n := 0
	for i := 0; i < len(rest); i++ {
		switch rest[i] {
		case c:
			n++
		case ' ', '\t':
		default:
			return false
		}
	}
	return n >= 3
}

// closeUnmatched closes the blocks that the current line did not continue
// (once per line).
func (s *scanner) closeUnmatched() {
	if s.allClosed {
		return
	}
	s.closeFrom(s.lastMatched + 1)
	s.allClosed = true
}

// closeFrom closes open[i:] from the innermost out.
func (s *scanner) closeFrom(i int) {
	for j := len(s.open) - 1; j >= i && j >= 1; j-- {
		if b := s.open[j]; b.kind == kParagraph {
			s.finishParagraph(b.para)
		}
		s.open = s.open[:j]
	}
}

// addChild opens a block under the tip; with more than MaxDepth blocks open
// it stops the scan instead.
func (s *scanner) addChild(k blockKind) *block {
	for len(s.open) > 1 && !canContain(s.tip().kind, k) {
		s.closeFrom(len(s.open) - 1)
	}
	if len(s.open) >= MaxDepth {
		s.tooDeep = true
		return nil
	}
	s.markChild()
	b := &block{kind: k}
	if k == kParagraph {
		b.para = &paragraph{tableFrom: -1}
		for _, o := range s.open {
			if o.kind == kQuote {
				b.para.quoted = true // someone quoting; lazy lines too
			}
		}
	}
	s.open = append(s.open, b)
	return b
}

// addClosedLeaf records a one-line block (a heading, a thematic break)
// that takes the rest of the line: it is closed at once, but the block
// holding it is no longer empty.
func (s *scanner) addClosedLeaf() {
	s.closeLeafTip()
	s.markChild()
	s.offset = len(s.ln)
}

// closeLeafTip closes the tip while it cannot hold another block (a
// paragraph interrupted by a new block).
func (s *scanner) closeLeafTip() {
	for len(s.open) > 1 && acceptsLines(s.tip().kind) {
		s.closeFrom(len(s.open) - 1)
	}
}

// canContain is commonmark.js's blocks[parent].canContain.
func canContain(parent, child blockKind) bool {
	switch parent {
	case kDocument, kQuote, kItem:
		return child != kItem
	case kList:
		return child == kItem
	}
	return false
}

func (s *scanner) markChild() {
	if t := s.tip(); t.kind == kItem {
		t.hasChild = true
	}
}

// addParagraphLine adds the rest of the current line to p.
func (s *scanner) addParagraphLine(p *paragraph, lazy bool) {
	i := s.offset
	if lazy {
		i = s.nextNonspace
	}
	for i < len(s.ln) && (s.ln[i] == ' ' || s.ln[i] == '\t') {
		i++
	}
	content := s.ln[i:]
	idx := len(p.pieces)
	pc := piece{start: s.lineStart + i, end: s.lineStart + len(s.ln), line: s.lineNo}
	p.noteRefDef(s.body, pc)
	p.pieces = append(p.pieces, pc)
	if p.tableFrom < 0 && idx > 0 && !lazy && delimiterRow(content) {
		p.tableFrom = idx - 1
	}
	if isCandidate(s.ln, i) {
		p.candidates = append(p.candidates, idx)
	}
}

// isCandidate reports whether ln holds a command at i: only up to three
// spaces before it on the line, then "/tasuki" (any case) and a space, a
// tab or the end of the line.
func isCandidate(ln string, i int) bool {
	if i > 3 || strings.Trim(ln[:i], " ") != "" {
		return false
	}
	return hasPrefixFold(ln[i:], Prefix) && (len(ln) == i+len(Prefix) || ln[i+len(Prefix)] == ' ' || ln[i+len(Prefix)] == '\t')
}

func (s *scanner) dropParagraph() {
	if t := s.tip(); t.kind == kParagraph {
		t.para.candidates = nil
	}
}

// refDefLike reports whether p may open with link reference definitions
// ("[label]: /url"), whose lines are not text. It over-approximates: a
// paragraph starting with '[' that holds "]:" anywhere, a line break
// between the two included (a label may span lines).
func (p *paragraph) refDefLike() bool { return p.bracket && p.colon }

// noteRefDef updates what refDefLike needs with a line's content, in
// constant time per line beyond the search of that line.
func (p *paragraph) noteRefDef(body string, content piece) {
	c := body[content.start:content.end]
	if len(p.pieces) == 0 {
		p.bracket = strings.HasPrefix(c, "[")
	}
	if !p.bracket || p.colon {
		return
	}
	if strings.Contains(c, "]:") {
		p.colon = true
	} else if n := len(p.pieces); n > 0 && strings.HasPrefix(c, ":") {
		prev := p.pieces[n-1]
		p.colon = prev.end > prev.start && body[prev.end-1] == ']'
	}
}

// finishParagraph keeps the candidates of p that inline analysis leaves as
// text.
func (s *scanner) finishParagraph(p *paragraph) {
	if len(p.candidates) == 0 || p.quoted || p.refDefLike() {
		return
	}
	text, starts := p.text(s.body)
	hidden := inlineHidden(text)
	for _, idx := range p.candidates {
		if p.tableFrom >= 0 && idx >= p.tableFrom {
			continue
		}
		if covers(hidden, starts[idx]) {
			continue
		}
		pc := p.pieces[idx]
		s.found = append(s.found, found{at: pc.start, line: pc.line})
	}
}

// text joins the paragraph's lines with "\n" and returns where each line
// starts in the joined text.
func (p *paragraph) text(body string) (string, []int) {
	var b strings.Builder
	starts := make([]int, len(p.pieces))
	for k, pc := range p.pieces {
		if k > 0 {
			b.WriteByte('\n')
		}
		starts[k] = b.Len()
		b.WriteString(body[pc.start:pc.end])
	}
	return b.String(), starts
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}
