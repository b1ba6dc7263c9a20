package repl

import (
	"sort"
	"strings"

	"github.com/corolang/coro/starlark"
)

// keywords completes alongside names.
var keywords = []string{"and", "break", "continue", "def", "elif", "else", "for", "if", "in", "lambda", "load", "not", "or", "pass", "return", "while"}

// complete is liner's word completer: the dotted name before the cursor
// (`pri`, `json.en`, `s.up`) completes against the session's globals,
// the universe and keywords, or the attributes of the value the part
// before the last dot names. Only names and attribute lookups are
// evaluated, never calls, so Tab has no side effects beyond what an
// attribute read does.
func (s *Session) complete(line string, pos int) (head string, completions []string, tail string) {
	runes := []rune(line)
	if pos > len(runes) {
		pos = len(runes)
	}
	before, tail := string(runes[:pos]), string(runes[pos:])
	start := len(before)
	for start > 0 && isWordByte(before[start-1]) {
		start--
	}
	word := before[start:]
	if word == "" || (word[0] >= '0' && word[0] <= '9') {
		return before, nil, tail
	}
	head = before[:start]
	path := strings.Split(word, ".")
	prefix := path[len(path)-1]
	owner := strings.Join(path[:len(path)-1], ".")
	var cands []string
	s.st.Inspect(func(globals starlark.StringDict) { cands = candidates(globals, path[:len(path)-1]) })
	seen := map[string]bool{}
	for _, c := range cands {
		if strings.HasPrefix(c, prefix) && !seen[c] {
			seen[c] = true
			if owner != "" {
				c = owner + "." + c
			}
			completions = append(completions, c)
		}
	}
	sort.Strings(completions)
	return head, completions, tail
}

// candidates returns the names visible at path: top-level names for an
// empty path, else the attribute names of the value path names. Loop only.
func candidates(globals starlark.StringDict, path []string) []string {
	if len(path) == 0 {
		out := append([]string(nil), keywords...)
		for k := range globals {
			out = append(out, k)
		}
		for k := range starlark.Universe {
			out = append(out, k)
		}
		return out
	}
	v, ok := globals[path[0]]
	if !ok {
		v, ok = starlark.Universe[path[0]]
	}
	if !ok {
		return nil
	}
	for _, name := range path[1:] {
		ha, isAttrs := v.(starlark.HasAttrs)
		if !isAttrs {
			return nil
		}
		next, err := ha.Attr(name)
		if err != nil || next == nil {
			return nil
		}
		v = next
	}
	if ha, isAttrs := v.(starlark.HasAttrs); isAttrs {
		return ha.AttrNames()
	}
	return nil
}

func isWordByte(b byte) bool {
	return b == '_' || b == '.' || b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9'
}
