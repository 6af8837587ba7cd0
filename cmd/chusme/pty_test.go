//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chusme/chusme/internal/servertest"
)

// missing skips the test for a missing outside part, saying why; under CI
// (CI=true), where every part is installed, it fails instead.
func missing(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(why)
	}
	t.Skip(why)
}

// openPTY opens a new pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		missing(t, fmt.Sprintf("no pseudo-terminals here: %v", err))
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close(); s.Close() })
	return m, s
}

// terminal is a bash shell on a pseudo-terminal of its own, in a new
// session with job control on (set -m), as a shell in a terminal window
// runs; what appears on it is collected as it comes.
type terminal struct {
	t       *testing.T
	master  *os.File
	cmd     *exec.Cmd
	done    chan struct{} // closed when the shell has exited and its screen is read
	err     error         // the shell's exit error, once done
	mu      sync.Mutex
	screen  bytes.Buffer
	changed chan struct{} // closed and replaced on each new output
}

// answer is what to type on a terminal each time a prompt appears; a
// secret one only once the terminal no longer echoes, as a person types a
// passphrase at a prompt that hides it.
type answer struct {
	prompt, text string
	secret       bool
}

// openTerminal starts script in directory dir ("" for the current one),
// typing the answers to their prompts.
func openTerminal(t *testing.T, env []string, dir, script string, answers []answer) *terminal {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		missing(t, "no bash here")
	}
	m, s := openPTY(t)
	cmd := exec.Command(bash, "-c", "set -m\n"+script)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr, cmd.Dir = env, s, s, s, dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	tm := &terminal{t: t, master: m, cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	exited := make(chan struct{})
	go func() { tm.err = cmd.Wait(); s.Close(); close(exited) }()
	go func() {
		answered := map[string]int{}
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			tm.mu.Lock()
			tm.screen.Write(buf[:n])
			screen := tm.screen.String()
			close(tm.changed)
			tm.changed = make(chan struct{})
			tm.mu.Unlock()
			for _, a := range answers {
				if c := strings.Count(screen, a.prompt); c > answered[a.prompt] {
					answered[a.prompt] = c
					if a.secret {
						waitNoEcho(m)
					}
					io.WriteString(m, a.text)
				}
			}
			if err != nil {
				break
			}
		}
		<-exited
		close(tm.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-tm.done
	})
	return tm
}

// waitNoEcho waits, at most 10 s, until the terminal's echo is off: the
// program has started reading a passphrase. Nothing signals the change, so
// this polls the mode (on Linux the master side reports the terminal's).
func waitNoEcho(tty *os.File) {
	for range 2000 {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil || tio.Lflag&unix.ECHO == 0 {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Screen is what has appeared on the terminal so far.
func (tm *terminal) Screen() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.screen.String()
}

// WaitFor waits until re matches the screen and returns the match; it
// fails the test if the shell exits first or within limit.
func (tm *terminal) WaitFor(re *regexp.Regexp, limit time.Duration) string {
	tm.t.Helper()
	timeout := time.After(limit)
	for {
		tm.mu.Lock()
		m, changed := re.FindString(tm.screen.String()), tm.changed
		tm.mu.Unlock()
		if m != "" {
			return m
		}
		select {
		case <-changed:
		case <-tm.done:
			if m := re.FindString(tm.Screen()); m != "" {
				return m
			}
			tm.t.Fatalf("the shell ended (%v) before %q appeared:\n%s", tm.err, re, tm.Screen())
		case <-timeout:
			tm.t.Fatalf("%q did not appear within %v:\n%s", re, limit, tm.Screen())
		}
	}
}

// Wait waits for the shell to exit, at most limit, and returns its screen
// and exit error.
func (tm *terminal) Wait(limit time.Duration) (string, error) {
	tm.t.Helper()
	select {
	case <-tm.done:
	case <-time.After(limit):
		tm.cmd.Process.Kill()
		tm.t.Fatalf("the shell did not end within %v:\n%s", limit, tm.Screen())
	}
	return tm.Screen(), tm.err
}

// inShellAnswering runs script on a terminal of its own, typing the
// answers to their prompts, and returns its screen and exit error.
func inShellAnswering(t *testing.T, env []string, script string, answers []answer) (string, error) {
	t.Helper()
	return openTerminal(t, env, "", script, answers).Wait(2 * time.Minute)
}

// inShell runs script on a terminal of its own and returns what appeared
// on it until the shell exited (or, with stop, until stop appeared).
func inShell(t *testing.T, env []string, script, stop string) string {
	t.Helper()
	tm := openTerminal(t, env, "", script, nil)
	if stop != "" {
		tm.WaitFor(regexp.MustCompile(regexp.QuoteMeta(stop)), 2*time.Minute)
		return tm.Screen()
	}
	out, _ := tm.Wait(2 * time.Minute)
	return out
}

// On a real terminal the passphrase is asked of a foreground command only:
// a background job (&) fails at once saying what to do, instead of
// stopping at a prompt whose answer the shell would run as a command.
func TestPassphraseOnlyInTheForeground(t *testing.T) {
	bin := buildCLI(t)
	dir := t.TempDir()
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "CHUSME_CONFIG_DIR=" + dir, "TERM=dumb"}
	out := inShell(t, env, bin+" keygen &\nwait $!\necho exit=$?", "")
	if !strings.Contains(out, "runs in the background") || !strings.Contains(out, "CHUSME_PASSPHRASE_FILE") || !strings.Contains(out, "exit=1") {
		t.Fatalf("keygen in the background printed:\n%s", out)
	}
	if _, err := os.Stat(dir + "/identity.key"); !os.IsNotExist(err) {
		t.Fatalf("a refused keygen wrote a key: %v", err)
	}
	// In the foreground it asks.
	if out := inShell(t, env, bin+" keygen", "passphrase"); !strings.Contains(strings.ToLower(out), "passphrase") {
		t.Fatalf("keygen in the foreground printed:\n%s", out)
	}
}

// The README's walk-through, taken from the README itself so that the two
// can't drift, runs on real pseudo-terminals against a fresh server, twice
// in a row: once with CHUSME_PASSPHRASE set, once skipping that line as the
// README allows, so every passphrase is asked on the terminal. Your
// terminal runs the first block; Alice's terminal starts with the export
// line your terminal printed, pasted, then runs the second block. Her
// approval prompt is on her screen when it asks, the signature verifies,
// and nothing is left in the repository.
func TestREADMEWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks := readmeBlocks(t, string(readme), "## Five minutes with the CLI")
	if len(blocks) != 2 {
		t.Fatalf("the walk-through has %d shell blocks, want 2 (yours, Alice's)", len(blocks))
	}
	const passLine = "export CHUSME_PASSPHRASE=correct-horse"
	if !strings.Contains(blocks[0], "\n"+passLine+" ") {
		t.Fatalf("the walk-through has no line %q to skip", passLine)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	before := gitStatus(t, root)
	// The walk-through's go build uses this machine's caches, whatever HOME.
	var goEnv []string
	for _, v := range []string{"GOCACHE", "GOMODCACHE", "GOPATH", "GOFLAGS", "GOPROXY", "GOTOOLCHAIN"} {
		out, err := exec.Command("go", "env", v).Output()
		if err != nil {
			t.Fatal(err)
		}
		goEnv = append(goEnv, v+"="+strings.TrimSpace(string(out)))
	}
	var passphrases []answer
	for _, p := range []string{"New passphrase for the identity key: ", "Repeat the passphrase: ", "Passphrase for ", "New backup passphrase: "} {
		passphrases = append(passphrases, answer{p, "correct-horse\n", true})
	}
	exported := regexp.MustCompile(`(?m)^export PATH=\S+:\$PATH CHUSME_CONFIG_DIR=\S+\r?$`)
	for run, withPassphrase := range []bool{true, false} {
		// The server the README starts in another terminal: a fresh one,
		// its setup token where the walk-through reads it.
		s := servertest.Start(t)
		mine := strings.ReplaceAll(blocks[0], "data/setup-token", filepath.Join(s.DataDir, "setup-token"))
		if !withPassphrase {
			mine = dropLine(mine, passLine)
		}
		env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TERM=dumb", "CHUSME_SERVER=" + s.URL,
			"CHUSME_KDF_MEMORY_KIB=64"}, goEnv...)
		you := openTerminal(t, env, root, "set -e\n"+mine, passphrases)
		paste := strings.TrimSpace(you.WaitFor(exported, 3*time.Minute))
		alice := openTerminal(t, env, t.TempDir(), "set -e\n"+paste+"\n"+blocks[1], append(passphrases, answer{"Sign this message? [y/N] ", "y\n", false}))
		yours, err := you.Wait(3 * time.Minute)
		if err != nil {
			t.Fatalf("run %d: your terminal failed: %v\n%s\nAlice's:\n%s", run+1, err, yours, alice.Screen())
		}
		hers, err := alice.Wait(time.Minute)
		if err != nil {
			t.Fatalf("run %d: Alice's terminal failed: %v\n%s", run+1, err, hers)
		}
		for _, want := range []string{"the signature verifies under group key", "Next: "} {
			if !strings.Contains(yours, want) {
				t.Fatalf("run %d: your screen lacks %q:\n%s", run+1, want, yours)
			}
		}
		for _, want := range []string{"Sign this message? [y/N]", "message text    \"pay 5 EUR to Bob\\n\""} {
			if !strings.Contains(hers, want) {
				t.Fatalf("run %d: Alice's screen lacks %q:\n%s", run+1, want, hers)
			}
		}
		if asked := strings.Contains(yours, "New passphrase for the identity key: "); asked == withPassphrase {
			t.Fatalf("run %d (CHUSME_PASSPHRASE set: %v): asked for a passphrase on your terminal: %v\n%s", run+1, withPassphrase, asked, yours)
		}
		if strings.Contains(yours+hers, "correct-horse") {
			t.Fatalf("run %d: a passphrase is on a screen:\n%s\nAlice's:\n%s", run+1, yours, hers)
		}
		if !strings.Contains(hers, "Passphrase for ") {
			t.Fatalf("run %d: Alice was not asked for her passphrase:\n%s", run+1, hers)
		}
		s.Stop(t)
	}
	if after := gitStatus(t, root); after != before {
		t.Fatalf("the walk-through left files in the repository:\n%s", after)
	}
}

// readmeBlocks returns the ```sh blocks of the README section headed by
// heading, up to the next section.
func readmeBlocks(t *testing.T, text, heading string) []string {
	t.Helper()
	i := strings.Index(text, heading)
	if i < 0 {
		t.Fatalf("no section %q in the README", heading)
	}
	section := text[i+len(heading):]
	if j := strings.Index(section, "\n## "); j >= 0 {
		section = section[:j]
	}
	var blocks []string
	for {
		j := strings.Index(section, "```sh\n")
		if j < 0 {
			return blocks
		}
		section = section[j+6:]
		k := strings.Index(section, "```")
		if k < 0 {
			t.Fatalf("an unclosed shell block in %q", heading)
		}
		blocks = append(blocks, section[:k])
		section = section[k+3:]
	}
}

// dropLine removes from script the line that starts with prefix.
func dropLine(script, prefix string) string {
	var kept []string
	for l := range strings.Lines(script) {
		if !strings.HasPrefix(l, prefix) {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "")
}

// gitStatus is the repository's untracked and changed files, "" without git.
func gitStatus(t *testing.T, root string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", root, "status", "--porcelain", "--untracked-files=all").Output()
	if err != nil {
		return ""
	}
	return string(out)
}
