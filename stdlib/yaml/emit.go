package yaml

import (
	"strings"
	"unicode/utf8"
)

// emitter writes YAML text as go.yaml.in/yaml/v3's emitter (emitterc.go)
// does for the documents yaml.encode makes, a port of its part that they
// use: block sequences and mappings, flow sequences and mappings (tuples
// as keys, empty collections), plain, single-quoted, double-quoted and
// literal scalars, the tags !!int and !!binary, indentation 2, no line
// width (the package's default: lines are never folded), no anchors, no
// comments. The text is the package's byte for byte (TestEmitterMatches
// checks it against the package on many values).
//
// yaml.encode writes with it rather than with the package so that the
// text grows as the script's values are walked: the package renders a
// tree of nodes built first (some 170 bytes a node, where a short
// scalar's line is a few), and a value whose parts are shared (a
// "billion laughs" document, decoded) has a text, and a tree,
// exponentially larger than itself. Here the text is all the memory there is, checked against a
// bound as it is written, and the walk gives the loop to other tasks as
// it goes (encoder.checkpoint).
type emitter struct {
	out text
	// column counts the characters (not bytes) of the current line.
	column int
	// whitespace: the last thing written is whitespace (or nothing), so
	// an indicator needs no space before it.
	whitespace bool
	// indention: nothing but indentation and indicators written on the
	// current line so far.
	indention bool
	indent    int // the current indentation, -1 at the top
	flowLevel int // how many flow collections are open

	// checkAt is the length of out at which checkpoint runs next (the
	// bound and the pace); a writer of a long scalar runs it as it goes.
	checkAt    int
	checkpoint func() error
	err        error // checkpoint's failure: writing stops
}

// bestIndent is the indentation of nested block collections
// (yaml.Encoder.SetIndent(2), as yaml.encode always had).
const bestIndent = 2

// A place is where a node is written, as the package's emitter knows it.
type place struct {
	// blockItem: the node is an item of a block sequence (the package's
	// state stack has BLOCK_SEQUENCE_ITEM on top), so what it indents is
	// indented past the "- ".
	blockItem bool
	// key: the node is a mapping key (a sequence there is a flow one,
	// "[1, 2]", as yaml.encode always wrote tuple keys).
	key bool
	// simpleKey: the node is a mapping key written "key: value".
	simpleKey bool
}

func newEmitter() *emitter {
	return &emitter{whitespace: true, indention: true, indent: -1}
}

// due runs checkpoint once the output has reached checkAt, and reports
// whether writing must stop: checkpoint failed (m.err).
func (m *emitter) due() bool {
	if m.out.len() < m.checkAt || m.err != nil {
		return m.err != nil
	}
	if err := m.checkpoint(); err != nil {
		m.err = err
		return true
	}
	return false
}

func (m *emitter) put(c byte) {
	m.out.writeByte(c)
	m.column++
}

func (m *emitter) putBreak() {
	m.out.writeByte('\n')
	m.column = 0
	m.indention = true
}

// write copies the character at s[i] and returns the index after it.
func (m *emitter) write(s string, i int) int {
	w := width(s[i])
	m.out.writeString(s[i : i+w])
	m.column++
	return i + w
}

// writeBreak copies the line break at s[i] ("\n" as the output's break).
func (m *emitter) writeBreak(s string, i int) int {
	if s[i] == '\n' {
		m.putBreak()
		return i + 1
	}
	i = m.write(s, i)
	m.column = 0
	m.indention = true
	return i
}

func (m *emitter) writeIndent() {
	indent := max(m.indent, 0)
	if !m.indention || m.column > indent || (m.column == indent && !m.whitespace) {
		m.putBreak()
	}
	for m.column < indent {
		n := min(indent-m.column, len(spaces))
		m.out.writeString(spaces[:n])
		m.column += n
	}
	m.whitespace = true
}

const spaces = "                                                                "

func (m *emitter) writeIndicator(ind string, needWhitespace, isWhitespace, isIndention bool) {
	if needWhitespace && !m.whitespace {
		m.put(' ')
	}
	m.out.writeString(ind) // ASCII: a column each
	m.column += len(ind)
	m.whitespace = isWhitespace
	m.indention = m.indention && isIndention
}

// increaseIndent opens a level of indentation and returns the one to go
// back to.
func (m *emitter) increaseIndent(flow bool, at place) int {
	old := m.indent
	switch {
	case m.indent < 0:
		if flow {
			m.indent = bestIndent
		} else {
			m.indent = 0
		}
	case at.blockItem:
		m.indent += 2 // past the "- "
	default:
		m.indent = bestIndent * ((m.indent + bestIndent) / bestIndent)
	}
	return old
}

// ---- collections: the caller writes the items between start and end ----

// blockItem starts an item of a block sequence.
func (m *emitter) blockItem() {
	m.writeIndent()
	m.writeIndicator("-", true, false, true)
}

// blockKey starts a key of a block mapping: simple ("key: value") or not
// ("? key" then ": value" on a line of its own).
func (m *emitter) blockKey(simple bool) {
	m.writeIndent()
	if !simple {
		m.writeIndicator("?", true, false, true)
	}
}

// blockValue starts the value after a block mapping's key.
func (m *emitter) blockValue(simple bool) {
	if simple {
		m.writeIndicator(":", false, false, false)
		return
	}
	m.writeIndent()
	m.writeIndicator(":", true, false, true)
}

// flowStart opens a flow collection ("[" or "{") and returns the
// indentation to give endFlow.
func (m *emitter) flowStart(open string, at place) int {
	m.writeIndicator(open, true, true, false)
	old := m.increaseIndent(true, at)
	m.flowLevel++
	return old
}

// flowItem starts the item (or key) i of a flow collection; a key that is
// not simple gets "? ".
func (m *emitter) flowItem(i int, key, simple bool) {
	if i > 0 {
		m.writeIndicator(",", false, false, false)
	}
	if m.column == 0 {
		m.writeIndent()
	}
	if key && !simple {
		m.writeIndicator("?", true, false, false)
	}
}

// flowValue starts the value after a flow mapping's key.
func (m *emitter) flowValue(simple bool) {
	m.writeIndicator(":", !simple, false, false)
}

// flowEnd closes a flow collection ("]" or "}").
func (m *emitter) flowEnd(close string, old int) {
	m.flowLevel--
	m.indent = old
	if close == "]" && m.column == 0 {
		m.writeIndent()
	}
	m.writeIndicator(close, false, false, false)
}

// endDocument ends the text with a line break.
func (m *emitter) endDocument() {
	m.indent = -1
	m.writeIndent()
}

// ---- scalars ----

type style uint8

const (
	plainStyle style = iota
	singleQuotedStyle
	doubleQuotedStyle
	literalStyle
)

// A scalar is a scalar's text, its tag when it must be written ("int"
// for !!int, "binary"; "" for none) and the style asked for.
type scalar struct {
	text  string
	tag   string
	style style
}

// analysis is what the package's yaml_emitter_analyze_scalar finds in a
// scalar's text.
type analysis struct {
	multiline, flowPlain, blockPlain, singleQuoted, block bool
}

// analyze reads value as the package's analyze_scalar does. A long
// text takes a while (a few ms a MB): it calls pace with each 64 KiB it
// has read, and stops at pace's error.
func analyze(value string, pace func(n int) error) (analysis, error) {
	if len(value) == 0 {
		return analysis{blockPlain: true, singleQuoted: true}, nil
	}
	var (
		blockIndicators, flowIndicators, lineBreaks, specialCharacters, tabCharacters    bool
		leadingSpace, leadingBreak, trailingSpace, trailingBreak, breakSpace, spaceBreak bool
		previousSpace, previousBreak                                                     bool
	)
	if strings.HasPrefix(value, "---") || strings.HasPrefix(value, "...") {
		blockIndicators, flowIndicators = true, true
	}
	precededByWhitespace := true
	paced := 0
	for i, w := 0, 0; i < len(value); i += w {
		if i-paced >= 64<<10 {
			if err := pace(i - paced); err != nil {
				return analysis{}, err
			}
			paced = i
		}
		if i > 0 && ordinary[value[i]] {
			// A run of them: what the loop below does for each.
			j := i + 1
			for end := min(len(value), paced+64<<10); j < end && ordinary[value[j]]; j++ {
			}
			previousSpace, previousBreak, precededByWhitespace = false, false, false
			w = j - i
			continue
		}
		w = width(value[i])
		followedByWhitespace := i+w >= len(value) || isBlank(value, i+w)
		if i == 0 {
			switch value[i] {
			case '#', ',', '[', ']', '{', '}', '&', '*', '!', '|', '>', '\'', '"', '%', '@', '`':
				flowIndicators, blockIndicators = true, true
			case '?', ':':
				flowIndicators = true
				if followedByWhitespace {
					blockIndicators = true
				}
			case '-':
				if followedByWhitespace {
					flowIndicators, blockIndicators = true, true
				}
			}
		} else {
			switch value[i] {
			case ',', '?', '[', ']', '{', '}':
				flowIndicators = true
			case ':':
				flowIndicators = true
				if followedByWhitespace {
					blockIndicators = true
				}
			case '#':
				if precededByWhitespace {
					flowIndicators, blockIndicators = true, true
				}
			}
		}
		if value[i] == '\t' {
			tabCharacters = true
		} else if !isPrintable(value, i) {
			specialCharacters = true
		}
		switch {
		case value[i] == ' ':
			if i == 0 {
				leadingSpace = true
			}
			if i+w == len(value) {
				trailingSpace = true
			}
			if previousBreak {
				breakSpace = true
			}
			previousSpace, previousBreak = true, false
		case isBreak(value, i):
			lineBreaks = true
			if i == 0 {
				leadingBreak = true
			}
			if i+w == len(value) {
				trailingBreak = true
			}
			if previousSpace {
				spaceBreak = true
			}
			previousSpace, previousBreak = false, true
		default:
			previousSpace, previousBreak = false, false
		}
		precededByWhitespace = isBlank(value, i) || isBreak(value, i) || value[i] == 0 // is_blankz
	}
	a := analysis{multiline: lineBreaks, flowPlain: true, blockPlain: true, singleQuoted: true, block: true}
	if leadingSpace || leadingBreak || trailingSpace || trailingBreak {
		a.flowPlain, a.blockPlain = false, false
	}
	if trailingSpace {
		a.block = false
	}
	if breakSpace {
		a.flowPlain, a.blockPlain, a.singleQuoted = false, false, false
	}
	if spaceBreak || tabCharacters || specialCharacters {
		a.flowPlain, a.blockPlain, a.singleQuoted = false, false, false
	}
	if spaceBreak || specialCharacters {
		a.block = false
	}
	if lineBreaks {
		a.flowPlain, a.blockPlain = false, false
	}
	if flowIndicators {
		a.flowPlain = false
	}
	if blockIndicators {
		a.blockPlain = false
	}
	return a, nil
}

// ordinary marks the bytes that, past a text's first, matter to analyze
// only as not being a space, a break or an indicator: printable ASCII
// but the space and , ? [ ] { } : #.
var ordinary = func() (t [256]bool) {
	for c := '!'; c <= '~'; c++ {
		t[c] = !strings.ContainsRune(",?[]{}:#", c)
	}
	return t
}()

// simpleKey reports whether s can be a simple key ("key: value").
func simpleKey(s scalar, a analysis) bool {
	n := len(s.text)
	if s.tag != "" {
		n += len("!!") + len(s.tag)
	}
	return !a.multiline && n <= 128
}

// scalar writes a scalar in the style the package would choose for it
// (yaml_emitter_select_scalar_style).
func (m *emitter) scalar(s scalar, a analysis, at place) {
	st := s.style
	if at.simpleKey && a.multiline {
		st = doubleQuotedStyle
	}
	if st == plainStyle {
		if m.flowLevel > 0 && !a.flowPlain || m.flowLevel == 0 && !a.blockPlain {
			st = singleQuotedStyle
		}
		if len(s.text) == 0 && (m.flowLevel > 0 || at.simpleKey) {
			st = singleQuotedStyle
		}
	}
	if st == singleQuotedStyle && !a.singleQuoted {
		st = doubleQuotedStyle
	}
	if st == literalStyle && (!a.block || m.flowLevel > 0 || at.simpleKey) {
		st = doubleQuotedStyle
	}
	if s.tag != "" {
		if !m.whitespace {
			m.put(' ')
		}
		m.out.writeString("!!")
		m.out.writeString(s.tag) // letters only
		m.column += 2 + len(s.tag)
		m.whitespace, m.indention = false, false
	}
	old := m.increaseIndent(true, at)
	switch st {
	case plainStyle:
		m.plain(s.text)
	case singleQuotedStyle:
		m.singleQuoted(s.text)
	case doubleQuotedStyle:
		m.doubleQuoted(s.text)
	case literalStyle:
		m.literal(s.text)
	}
	m.indent = old
}

// plain writes a plain scalar, which has no line breaks (analyze does
// not allow plain with them), so the package's per-character loop comes
// down to a copy.
func (m *emitter) plain(value string) {
	if len(value) > 0 {
		if !m.whitespace {
			m.put(' ')
		}
		m.whitespace = false
	}
	for len(value) > 0 && !m.due() {
		n := min(len(value), checkEvery)
		for n < len(value) && !utf8.RuneStart(value[n]) {
			n--
		}
		m.out.writeString(value[:n])
		m.column += utf8.RuneCountInString(value[:n])
		value = value[n:]
	}
	m.indention = false
}

func (m *emitter) singleQuoted(value string) {
	m.writeIndicator("'", true, false, false)
	breaks := false
	for i := 0; i < len(value); {
		if m.due() {
			return
		}
		switch {
		case value[i] == ' ':
			i = m.write(value, i)
		case isBreak(value, i):
			if !breaks && value[i] == '\n' {
				m.putBreak()
			}
			i = m.writeBreak(value, i)
			breaks = true
		default:
			if breaks {
				m.writeIndent()
			}
			if value[i] == '\'' {
				m.put('\'')
			}
			i = m.write(value, i)
			m.indention = false
			breaks = false
		}
	}
	m.writeIndicator("'", false, false, false)
	m.whitespace, m.indention = false, false
}

func (m *emitter) doubleQuoted(value string) {
	m.writeIndicator(`"`, true, false, false)
	// The package escapes every character of a text that starts with a
	// byte order mark (its is_bom looks at the text's start).
	bom := strings.HasPrefix(value, "\uFEFF")
	for i := 0; i < len(value); {
		if m.due() {
			return
		}
		if bom || !isPrintable(value, i) || isBreak(value, i) || value[i] == '"' || value[i] == '\\' {
			r, w := utf8.DecodeRuneInString(value[i:])
			i += w
			m.put('\\')
			switch r {
			case 0x00:
				m.put('0')
			case 0x07:
				m.put('a')
			case 0x08:
				m.put('b')
			case 0x09:
				m.put('t')
			case 0x0A:
				m.put('n')
			case 0x0b:
				m.put('v')
			case 0x0c:
				m.put('f')
			case 0x0d:
				m.put('r')
			case 0x1b:
				m.put('e')
			case 0x22:
				m.put('"')
			case 0x5c:
				m.put('\\')
			case 0x85:
				m.put('N')
			case 0xA0:
				m.put('_')
			case 0x2028:
				m.put('L')
			case 0x2029:
				m.put('P')
			default:
				digits := 8
				switch {
				case r <= 0xFF:
					m.put('x')
					digits = 2
				case r <= 0xFFFF:
					m.put('u')
					digits = 4
				default:
					m.put('U')
				}
				for k := (digits - 1) * 4; k >= 0; k -= 4 {
					m.put("0123456789ABCDEF"[(r>>uint(k))&0x0F])
				}
			}
			continue
		}
		i = m.write(value, i)
	}
	m.writeIndicator(`"`, false, false, false)
	m.whitespace, m.indention = false, false
}

// literal writes a "|" block scalar, with the package's indentation and
// chomping indicators.
func (m *emitter) literal(value string) {
	m.writeIndicator("|", true, false, false)
	if value[0] == ' ' || isBreak(value, 0) {
		m.writeIndicator(string(rune('0'+bestIndent)), false, false, false)
	}
	chomp := ""
	last := len(value) - 1
	for value[last]&0xC0 == 0x80 {
		last--
	}
	if !isBreak(value, last) {
		chomp = "-"
	} else if last == 0 {
		chomp = "+"
	} else {
		prev := last - 1
		for value[prev]&0xC0 == 0x80 {
			prev--
		}
		if isBreak(value, prev) {
			chomp = "+"
		}
	}
	if chomp != "" {
		m.writeIndicator(chomp, false, false, false)
	}
	m.putBreak()
	m.whitespace = true
	breaks := true
	for i := 0; i < len(value); {
		if m.due() {
			return
		}
		if isBreak(value, i) {
			i = m.writeBreak(value, i)
			breaks = true
			continue
		}
		if breaks {
			m.writeIndent()
		}
		i = m.write(value, i)
		m.indention = false
		breaks = false
	}
}

// ---- the text ----

// text is the output, in chunks: growing it never copies what is
// written, where a strings.Builder copies it all at each growth (near
// maxEncoded, a copy of a gigabyte that held the loop for a second). The
// chunks grow from 256 bytes to 64 KiB, so a small text costs little.
type text struct {
	chunks [][]byte
	cur    []byte
	n      int // the bytes in chunks
}

func (t *text) len() int { return t.n + len(t.cur) }

func (t *text) grow() {
	size := 256
	if c := cap(t.cur); c > 0 {
		t.chunks = append(t.chunks, t.cur)
		t.n += len(t.cur)
		size = min(2*c, 64<<10)
	}
	t.cur = make([]byte, 0, size)
}

func (t *text) writeByte(c byte) {
	if len(t.cur) == cap(t.cur) {
		t.grow()
	}
	t.cur = append(t.cur, c)
}

func (t *text) writeString(s string) {
	for len(s) > 0 {
		if len(t.cur) == cap(t.cur) {
			t.grow()
		}
		k := copy(t.cur[len(t.cur):cap(t.cur)], s)
		t.cur = t.cur[:len(t.cur)+k]
		s = s[k:]
	}
}

// String joins the chunks into the text, in one allocation, calling
// step with the size of each chunk copied (the copy of a large text
// gives the loop away as it goes); it stops at step's error.
func (t *text) String(step func(n int) error) (string, error) {
	if len(t.chunks) == 0 {
		return string(t.cur), nil
	}
	var b strings.Builder
	b.Grow(t.len())
	for _, c := range t.chunks {
		b.Write(c)
		if err := step(len(c)); err != nil {
			return "", err
		}
	}
	b.Write(t.cur)
	return b.String(), nil
}

// ---- characters, as the package's yamlprivateh.go sees them ----

// width is the length of the UTF-8 sequence that starts with b.
func width(b byte) int {
	switch {
	case b&0x80 == 0x00:
		return 1
	case b&0xE0 == 0xC0:
		return 2
	case b&0xF0 == 0xE0:
		return 3
	case b&0xF8 == 0xF0:
		return 4
	}
	return 1 // not a start: a string is valid UTF-8 here (encode sees to it)
}

// isPrintable is the package's is_printable (with unicode output): LF,
// printable ASCII, and the rest of Unicode but C1 controls, surrogates,
// the byte order mark and U+FFFE, U+FFFF.
func isPrintable(b string, i int) bool {
	c := b[i]
	return c == 0x0A ||
		c >= 0x20 && c <= 0x7E ||
		c == 0xC2 && b[i+1] >= 0xA0 ||
		c > 0xC2 && c < 0xED ||
		c == 0xED && b[i+1] < 0xA0 ||
		c == 0xEE ||
		c == 0xEF && !(b[i+1] == 0xBB && b[i+2] == 0xBF) && !(b[i+1] == 0xBF && (b[i+2] == 0xBE || b[i+2] == 0xBF))
}

// isBreak: CR, LF, NEL (U+0085), LS (U+2028), PS (U+2029).
func isBreak(b string, i int) bool {
	c := b[i]
	return c == '\r' || c == '\n' ||
		c == 0xC2 && b[i+1] == 0x85 ||
		c == 0xE2 && b[i+1] == 0x80 && (b[i+2] == 0xA8 || b[i+2] == 0xA9)
}

func isBlank(b string, i int) bool { return b[i] == ' ' || b[i] == '\t' }
