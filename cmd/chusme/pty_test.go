//go:build linux

package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// inShell runs script with bash -c and job control on (set -m), in a new
// session whose controlling terminal is a new pseudo-terminal, as a shell
// in a terminal window does; it returns what appeared on the terminal
// until the shell exited (or, with stop, until stop appeared).
func inShell(t *testing.T, env []string, script, stop string) string {
	out, _ := inShellAnswering(t, env, "", script, stop, nil)
	return out
}

// inShellAnswering is inShell in directory dir ("" for the current one),
// typing answers[p] on the terminal each time prompt p appears; it returns
// the screen and the shell's exit error.
func inShellAnswering(t *testing.T, env []string, dir, script, stop string, answers map[string]string) (string, error) {
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
	done := make(chan struct{})
	var werr error
	go func() { werr = cmd.Wait(); s.Close(); close(done) }()
	var out bytes.Buffer
	answered := map[string]int{}
	buf := make([]byte, 4096)
	deadline := time.Now().Add(2 * time.Minute)
	m.SetReadDeadline(deadline)
	for {
		n, err := m.Read(buf)
		out.Write(buf[:n])
		if stop != "" && strings.Contains(out.String(), stop) {
			cmd.Process.Kill()
			<-done
			return out.String(), werr
		}
		for p, a := range answers {
			if c := strings.Count(out.String(), p); c > answered[p] {
				answered[p] = c
				io.WriteString(m, a)
			}
		}
		if err != nil {
			break
		}
	}
	select {
	case <-done:
	case <-time.After(time.Until(deadline)):
		cmd.Process.Kill()
		t.Fatalf("bash -c %q did not end:\n%s", script, out.String())
	}
	return out.String(), werr
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
// can't drift, runs on a real pseudo-terminal against a fresh server,
// twice in a row: the approval prompt is on the screen when it asks, the
// signature verifies, and nothing is left in the repository.
func TestREADMEWalkthrough(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(readme)
	i := strings.Index(text, "## Five minutes with the CLI")
	j := strings.Index(text[i:], "```sh\n")
	k := strings.Index(text[i+j+6:], "```")
	if i < 0 || j < 0 || k < 0 {
		t.Fatal("no walk-through in the README")
	}
	block := text[i+j+6 : i+j+6+k]
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
	for run := 1; run <= 2; run++ {
		// The server the README starts in another terminal: a fresh one,
		// its setup token where the walk-through reads it.
		s := servertest.Start(t)
		script := "set -e\n" + strings.ReplaceAll(block, "data/setup-token", filepath.Join(s.DataDir, "setup-token"))
		env := append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "TERM=dumb", "CHUSME_SERVER=" + s.URL,
			"CHUSME_KDF_MEMORY_KIB=64"}, goEnv...)
		screen, err := inShellAnswering(t, env, root, script, "", map[string]string{"Sign this message? [y/N] ": "y\n"})
		if err != nil {
			t.Fatalf("run %d: the walk-through failed: %v\n%s", run, err, screen)
		}
		for _, want := range []string{"Sign this message? [y/N]", "message text    \"pay 5 EUR to Bob\\n\"", "the signature verifies under group key"} {
			if !strings.Contains(screen, want) {
				t.Fatalf("run %d: the screen lacks %q:\n%s", run, want, screen)
			}
		}
		s.Stop(t)
	}
	if after := gitStatus(t, root); after != before {
		t.Fatalf("the walk-through left files in the repository:\n%s", after)
	}
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
