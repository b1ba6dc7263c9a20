package repl_test

import (
	"strconv"
	"strings"
)

// screen is a small terminal emulator: enough of what liner and the
// console write (text, CR, LF, BS, erase to end of line, cursor to column,
// cursor forward, clear screen) to know what a user would see. It keeps
// every line (no scrolling off), so tests can search the whole session.
type screen struct {
	lines    [][]rune
	row, col int
	esc      []byte // a pending escape sequence
	utf      []byte // a pending UTF-8 sequence
}

func newScreen() *screen { return &screen{lines: [][]rune{nil}} }

func (s *screen) write(p []byte) {
	for _, b := range p {
		s.byte(b)
	}
}

func (s *screen) byte(b byte) {
	if s.esc != nil {
		s.esc = append(s.esc, b)
		if len(s.esc) == 2 && b != '[' {
			s.esc = nil // a two-byte escape: ignore
			return
		}
		if len(s.esc) > 2 && b >= 0x40 && b <= 0x7e {
			s.csi(string(s.esc[2:len(s.esc)-1]), b)
			s.esc = nil
		}
		return
	}
	if s.utf != nil || b >= 0x80 {
		s.utf = append(s.utf, b)
		if r := []rune(string(s.utf)); len(r) == 1 && r[0] != 0xfffd {
			s.put(r[0])
			s.utf = nil
		} else if len(s.utf) >= 4 {
			s.utf = nil
		}
		return
	}
	switch b {
	case 0x1b:
		s.esc = []byte{b}
	case '\r':
		s.col = 0
	case '\n':
		s.row++
		for len(s.lines) <= s.row {
			s.lines = append(s.lines, nil)
		}
	case '\b':
		if s.col > 0 {
			s.col--
		}
	case '\a', 0:
	default:
		if b >= 0x20 {
			s.put(rune(b))
		}
	}
}

func (s *screen) put(r rune) {
	line := s.lines[s.row]
	for len(line) <= s.col {
		line = append(line, ' ')
	}
	line[s.col] = r
	s.lines[s.row] = line
	s.col++
}

func (s *screen) csi(params string, final byte) {
	n := 1
	if p, err := strconv.Atoi(strings.Split(params, ";")[0]); err == nil {
		n = p
	}
	switch final {
	case 'K': // erase to end of line (the only form liner and the console use)
		if line := s.lines[s.row]; len(line) > s.col {
			s.lines[s.row] = line[:s.col]
		}
	case 'G': // cursor to column n
		s.col = n - 1
	case 'C':
		s.col += n
	case 'D':
		s.col = max(0, s.col-n)
	case 'J': // clear screen: start a fresh page below what was there
		s.lines = append(s.lines, nil)
		s.row = len(s.lines) - 1
		s.col = 0
	}
}

// text returns lines[from:] with trailing blanks trimmed, joined by newlines.
func (s *screen) text(from int) string {
	var b strings.Builder
	for i := from; i < len(s.lines); i++ {
		if i > from {
			b.WriteByte('\n')
		}
		b.WriteString(strings.TrimRight(string(s.lines[i]), " "))
	}
	return b.String()
}

// current returns the line the cursor is on.
func (s *screen) current() string { return strings.TrimRight(string(s.lines[s.row]), " ") }
