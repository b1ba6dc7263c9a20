package repl_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests drive the real coro binary through a pseudo-terminal, as a
// user would: type, press Tab, Ctrl-C, Ctrl-D, and read the screen.
// Waiting for text has a generous deadline, which only turns a hang into
// a failure: no test asserts how long anything takes.

var coroBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "coro-repl-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	coroBin = filepath.Join(dir, "coro")
	out, err := exec.Command("go", "build", "-o", coroBin, "github.com/corolang/coro/cmd/coro").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building coro: %v\n%s", err, out)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// deadline bounds every wait for the screen or the process.
const deadline = 20 * time.Second

// A session is coro running on a pty, with the screen it draws.
type session struct {
	t       *testing.T
	home    string
	cmd     *exec.Cmd
	pty     *os.File
	mu      sync.Mutex
	scr     *screen
	changed chan struct{}
	mark    int // expect searches the screen from this line on
	exited  chan struct{}
	code    int
}

// start runs coro with args on a new pty, HOME set to home (a fresh
// directory if "").
func start(t *testing.T, home string, args ...string) *session {
	t.Helper()
	if home == "" {
		home = t.TempDir()
	}
	cmd := exec.Command(coroBin, args...)
	cmd.Dir = home
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "HOME=") && !strings.HasPrefix(kv, "TERM=") {
			env = append(env, kv)
		}
	}
	cmd.Env = append(env, "HOME="+home, "TERM=xterm")
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 50, Cols: 160})
	require.NoError(t, err)
	s := &session{t: t, home: home, cmd: cmd, pty: f, scr: newScreen(), changed: make(chan struct{}, 1), exited: make(chan struct{})}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := f.Read(buf)
			if n > 0 {
				s.mu.Lock()
				s.scr.write(buf[:n])
				s.mu.Unlock()
				select {
				case s.changed <- struct{}{}:
				default:
				}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		err := cmd.Wait()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			s.code = ee.ExitCode()
		}
		close(s.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-s.exited:
		default:
			cmd.Process.Kill()
			<-s.exited
		}
		f.Close()
	})
	return s
}

func (s *session) send(keys string) {
	s.t.Helper()
	_, err := s.pty.Write([]byte(keys))
	require.NoError(s.t, err)
}

// waitUntil polls cond (under the screen lock) each time the screen
// changes, failing the test at the deadline.
func (s *session) waitUntil(what string, cond func(*screen) bool) {
	s.t.Helper()
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		s.mu.Lock()
		ok := cond(s.scr)
		s.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-s.changed:
		case <-s.exited:
			// Take what the process wrote last, then one more look.
			time.Sleep(50 * time.Millisecond)
			s.mu.Lock()
			ok := cond(s.scr)
			s.mu.Unlock()
			if !ok {
				s.t.Fatalf("coro exited (status %d) before %s; screen:\n%s", s.code, what, s.dump())
			}
			return
		case <-timer.C:
			s.t.Fatalf("timed out waiting for %s; screen:\n%s", what, s.dump())
		}
	}
}

func (s *session) dump() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.scr.text(0)
}

// expect waits until want appears on the screen at or after the mark,
// then moves the mark to the line where the match ends.
func (s *session) expect(want string) {
	s.t.Helper()
	s.waitUntil(fmt.Sprintf("%q", want), func(scr *screen) bool {
		text := scr.text(s.mark)
		i := strings.Index(text, want)
		if i < 0 {
			return false
		}
		s.mark += strings.Count(text[:i+len(want)], "\n")
		return true
	})
}

// expectLine waits until the line under the cursor reads want.
func (s *session) expectLine(want string) {
	s.t.Helper()
	s.waitUntil(fmt.Sprintf("current line %q", want), func(scr *screen) bool { return scr.current() == want })
}

// prompt waits for an empty ">>> " prompt.
func (s *session) prompt() {
	s.t.Helper()
	s.expectLine(">>>")
}

// enter types a line at the prompt and presses Enter, then waits for the
// line's echo: a row at or below the prompt that reads line after its
// prompt. (Output arriving at the very moment Enter is handled can leave
// the submitted line drawn without its prompt: see Console.)
func (s *session) enter(line string) {
	s.t.Helper()
	s.prompt()
	s.mu.Lock()
	from := s.scr.row
	s.mu.Unlock()
	s.send(line + "\r")
	s.waitUntil(fmt.Sprintf("the echo of %q", line), func(scr *screen) bool {
		for r := from; r < len(scr.lines); r++ {
			text := strings.TrimRight(string(scr.lines[r]), " ")
			text = strings.TrimPrefix(strings.TrimPrefix(text, ">>> "), "... ")
			if text == line {
				s.mark = r
				return true
			}
		}
		return false
	})
}

// wait waits for coro to exit and returns its status.
func (s *session) wait() int {
	s.t.Helper()
	select {
	case <-s.exited:
	case <-time.After(deadline):
		s.t.Fatalf("coro did not exit; screen:\n%s", s.dump())
	}
	return s.code
}

// quit presses Ctrl-D at an empty prompt and waits for status 0.
func (s *session) quit() {
	s.t.Helper()
	s.prompt()
	s.send("\x04")
	require.Equal(s.t, 0, s.wait(), "exit status; screen:\n%s", s.dump())
}

func TestExpressionsAndGlobals(t *testing.T) {
	s := start(t, "")
	s.enter("1 + 2")
	s.expect("\n3\n>>>")
	s.enter(`"a" + "b"`)
	s.expect("\n\"ab\"\n>>>")
	s.enter("None")
	s.expect(">>> None\n>>>") // None is not printed
	s.enter("x = 20")
	s.enter("x + 1")
	s.expect("\n21\n>>>")
	s.enter("_ * 2") // the last value
	s.expect("\n42\n>>>")
	s.enter(`print("hello")`)
	s.expect("\nhello\n>>>")
	s.quit()
}

func TestMultiLineDef(t *testing.T) {
	s := start(t, "")
	s.enter("def double(n):")
	s.expectLine("...")
	s.send("    m = n * 2\r")
	s.expect("...     m = n * 2")
	s.expectLine("...")
	s.send("    return m\r")
	s.expectLine("...")
	s.send("\r") // the empty line ends the block
	s.enter("double(21)")
	s.expect("\n42\n>>>")
	s.enter("for i in range(3):")
	s.send("    print('i', i)\r")
	s.expectLine("...")
	s.send("\r")
	s.expect("i 0\ni 1\ni 2\n>>>")
	s.quit()
}

func TestErrorsKeepTheSession(t *testing.T) {
	s := start(t, "")
	s.enter("y = 7")
	s.enter("def f():")
	s.send("    return 1 // 0\r\r")
	s.enter("f()")
	s.expect("Traceback (most recent call last):")
	s.expect("in f")
	s.expect("floored division by zero")
	s.enter("y")
	s.expect("\n7\n>>>")
	s.enter("1 +")
	s.expect("<stdin>:1:4: got newline, want primary expression")
	s.enter("undefined_name")
	s.expect("undefined: undefined_name")
	s.enter("y * 6")
	s.expect("\n42\n>>>")
	s.quit()
}

// tickerDef prints "tick" until flag["stop"] (a dict, since a function
// sees the globals of the chunk it was defined in: rebinding a name later
// would not reach it, mutating a shared value does).
const tickerDef = "def ticker(flag, period):\r" +
	"    while not flag['stop']:\r" +
	"        sleep(period)\r" +
	"        print('tick')\r" +
	"\r"

func TestBackgroundOutputDoesNotGarbleTyping(t *testing.T) {
	s := start(t, "")
	s.enter("flag = {'stop': False}")
	s.prompt()
	s.send(tickerDef)
	s.enter("t = spawn(ticker, flag, 0.05)")
	s.expect("tick") // the task runs while the prompt waits
	s.prompt()
	s.send("y = 4")
	s.expectLine(">>> y = 4")
	var typedRow int
	s.mu.Lock()
	typedRow = s.scr.row
	s.mu.Unlock()
	// A tick printed after the partial line must appear above it, with
	// the prompt and the typed text redrawn below.
	s.waitUntil("a tick above the partly typed line", func(scr *screen) bool {
		return scr.row > typedRow && strings.TrimSpace(string(scr.lines[scr.row-1])) == "tick" && scr.current() == ">>> y = 4"
	})
	s.send("2\r") // finish the line: the editor still has "y = 4"
	s.expect("y = 42")
	s.enter("y + 0")
	s.expect("\n42\n")
	s.enter("flag['stop'] = True")
	s.enter("t.wait()")
	s.prompt()
	s.mu.Lock()
	for i, line := range s.scr.lines {
		text := strings.TrimRight(string(line), " ")
		if strings.Contains(text, "tick") && !strings.Contains(text, "ticker") && !strings.Contains(text, "print(") {
			assert.Equal(t, "tick", text, "line %d is garbled", i)
		}
	}
	s.mu.Unlock()
	s.quit()
}

func TestCtrlCCancelsOnlyTheStatement(t *testing.T) {
	s := start(t, "")
	s.enter("flag = {'stop': False}")
	s.prompt()
	s.send(tickerDef)
	s.enter("t = spawn(ticker, flag, 0.1)")
	s.enter("def fg():")
	s.send("    defer(print, 'fg cleanup')\r")
	s.send("    print('started')\r")
	s.send("    sleep(100)\r")
	s.send("\r")
	s.enter("fg()")
	s.expect("started")
	s.send("\x03")
	s.expect("fg cleanup")
	s.expect("cancelled: interrupted")
	// The background task survived, and so did the REPL.
	s.expect("tick")
	s.expect("tick")
	s.enter("t.state")
	s.expect("\"waiting\"")
	s.enter("flag['stop'] = True")
	s.quit()
}

func TestCtrlCAtPromptClearsTheLine(t *testing.T) {
	s := start(t, "")
	s.prompt()
	s.send("garbage garbage")
	s.expectLine(">>> garbage garbage")
	s.send("\x03")
	s.prompt()
	s.send("6 * 7\r")
	s.expect(">>> 6 * 7\n42\n>>>")
	// Ctrl-C on a "... " line abandons the whole block.
	s.enter("def g():")
	s.send("    return 1")
	s.expectLine("...     return 1")
	s.send("\x03")
	s.enter("g")
	s.expect("undefined: g")
	s.quit()
}

func TestCtrlDRunsCleanupsAndSavesHistory(t *testing.T) {
	home := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(home, ".coro_history"), []byte("40 + 2\n"), 0o600))
	s := start(t, home)
	s.prompt()
	s.send("\x1b[A") // up arrow: the history file was loaded
	s.expectLine(">>> 40 + 2")
	s.send("\r")
	s.expect("\n42\n")
	s.enter("def bg():")
	s.send("    defer(print, 'bg cleanup')\r")
	s.send("    sleep(100)\r")
	s.send("\r")
	s.enter("t = spawn(bg)")
	s.quit()
	s.expect("bg cleanup")
	data, err := os.ReadFile(filepath.Join(home, ".coro_history"))
	require.NoError(t, err)
	assert.Equal(t, "40 + 2\ndef bg():\n    defer(print, 'bg cleanup')\n    sleep(100)\nt = spawn(bg)\n", string(data))
}

func TestTabCompletion(t *testing.T) {
	s := start(t, "")
	s.prompt()
	s.send("json.de\t")
	s.expectLine(">>> json.decode")
	s.send("('[1]')\r")
	s.expect("\n[1]\n>>>")
	s.enter(`word = "abc"`)
	s.prompt()
	s.send("word.up\t")
	s.expectLine(">>> word.upper")
	s.send("()\r")
	s.expect("\n\"ABC\"\n>>>")
	s.prompt()
	s.send("wo\t")
	s.expectLine(">>> word")
	s.send("\r")
	s.expect("\n\"abc\"\n>>>")
	// Several candidates: the first Tab completes their common prefix,
	// the second lists them.
	s.prompt()
	s.send("json.en\t")
	s.expectLine(">>> json.encode")
	s.send("\t")
	s.expect("json.encode json.encode_indent")
	s.send("\x03")
	s.quit()
}

func TestCommands(t *testing.T) {
	home := t.TempDir()
	script := filepath.Join(home, "lib.star")
	require.NoError(t, os.WriteFile(script, []byte("def triple(n):\n    return 3 * n\nloaded = True\n"), 0o600))
	s := start(t, home)
	s.enter(":help")
	s.expect(":load FILE")
	s.enter("def waiter():")
	s.send("    sleep(100)\r\r")
	s.enter("w = spawn(waiter, name='sleepy')")
	s.enter(":tasks")
	s.expect("1 live task:")
	s.expect("task 'sleepy' (id ")
	s.expect("waiting): sleep")
	s.expect("<stdin>:2:10 in waiter")
	s.enter(":load lib.star")
	s.enter("triple(14)")
	s.expect("\n42\n>>>")
	s.enter(":load missing.star")
	s.expect("no such file")
	s.enter(":nonsense")
	s.expect("unknown command :nonsense")
	s.quit()
}

func TestInteractiveFlag(t *testing.T) {
	home := t.TempDir()
	script := filepath.Join(home, "prog.star")
	require.NoError(t, os.WriteFile(script, []byte("answer = 6 * 7\nprint('script ran', os.args)\n"), 0o600))
	s := start(t, home, "-i", script, "one")
	s.expect(`script ran ["one"]`)
	s.enter("answer")
	s.expect("\n42\n>>>")
	s.quit()
}

func TestOsExitLeavesWithItsStatus(t *testing.T) {
	s := start(t, "")
	s.enter("def bg():")
	s.send("    defer(print, 'bg cleanup')\r")
	s.send("    sleep(100)\r")
	s.send("\r")
	s.enter("t = spawn(bg)")
	s.enter("os.exit(5)")
	assert.Equal(t, 5, s.wait())
	s.expect("bg cleanup")
}

// With stdin a pipe there is no line editing and no prompt: statements are
// read line by line, expression values still printed.
func TestPipedInput(t *testing.T) {
	cmd := exec.Command(coroBin)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader("print(1)\n1 + 1\ndef f(x):\n    return x * 10\n\nf(4)\n1 // 0\nt = spawn(lambda: print('bg'))\n\"done\"\n")
	out, err := cmd.CombinedOutput()
	// 1 // 0 failed: piped statements then exit 1 (SPEC 9), after the rest ran.
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 1, ee.ExitCode())
	text := string(out)
	assert.Contains(t, text, "1\n2\n40\n")
	assert.Contains(t, text, "floored division by zero")
	assert.Contains(t, text, "bg\n\"done\"\n")
	assert.NotContains(t, text, ">>>")
}

// os.exit in a background task ends the session with its status; the
// statement running then is cancelled.
func TestBackgroundOsExit(t *testing.T) {
	cmd := exec.Command(coroBin)
	cmd.Dir = t.TempDir()
	cmd.Stdin = strings.NewReader("def bg():\n    sleep(0.1)\n    os.exit(4)\n\nt = spawn(bg)\nsleep(100)\nprint('not reached')\n")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 4, ee.ExitCode())
	assert.Empty(t, string(out))
}

// pipe runs coro with stdin from input in dir, and returns its combined
// output and exit status.
func pipe(t *testing.T, dir, input string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(coroBin, args...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err, "%s", out)
	return string(out), 0
}

// The parser reads the line after a block to see that the block has
// ended; that line is the next statement, and it used to be dropped (a
// failing one too, and the exit status said all went well).
func TestStatementRightAfterABlock(t *testing.T) {
	out, code := pipe(t, t.TempDir(), "for i in range(2):\n    print(i)\nprint('A')\nprint('B')\n"+
		"if True: print('one-line if')\nprint('after')\n"+
		"def f():\n    return 'f'\ndef g():\n    return 'g'\nprint(f(), g())\n"+
		"if False:\n    pass\nelif True:\n    print('elif')\nelse:\n    pass\nprint('end')\n")
	assert.Equal(t, "0\n1\nA\nB\none-line if\nafter\nf g\nelif\nend\n", out)
	assert.Equal(t, 0, code)

	out, code = pipe(t, t.TempDir(), "while False:\n    pass\nfail('must fail')\n")
	assert.Contains(t, out, "error: must fail")
	assert.Equal(t, 1, code)
}

// A command that cannot run counts as a failed statement for the exit
// status of piped input (SPEC 9).
func TestFailedCommandsSetTheStatus(t *testing.T) {
	for _, input := range []string{":bogus\n", ":load nope.star\n", ":load\n", ":c\n", ":where\n"} {
		out, code := pipe(t, t.TempDir(), input)
		assert.Equal(t, 1, code, "%q: %s", input, out)
	}
	out, code := pipe(t, t.TempDir(), ":help\n:tasks\n")
	assert.Equal(t, 0, code, out)
}

// :load reads as load() does: in a sandbox only below the current folder
// or an allowed path, and a refused file is not opened, so nothing of it
// shows (it was read with os.ReadFile, whatever the sandbox).
func TestLoadObeysTheSandbox(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret.star")
	require.NoError(t, os.WriteFile(outside, []byte("TOKEN = 's3cr3t'\nhunter2\n"), 0o600))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "lib.star"), []byte("x = 42\n"), 0o600))

	out, code := pipe(t, dir, ":load "+outside+"\nprint(TOKEN)\n", "--sandbox")
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "permission: load: reading "+outside+" denied")
	assert.NotContains(t, out, "s3cr3t")
	assert.NotContains(t, out, "hunter2")

	out, code = pipe(t, dir, ":load lib.star\nprint(x)\n", "--sandbox")
	assert.Equal(t, "42\n", out)
	assert.Equal(t, 0, code)

	out, code = pipe(t, dir, ":load "+outside+"\nprint(TOKEN)\n", "--sandbox", "--allow-read="+filepath.Dir(outside))
	assert.Contains(t, out, "undefined: hunter2")
	assert.Equal(t, 1, code)
}
