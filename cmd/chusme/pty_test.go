//go:build linux

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a new pseudo-terminal pair.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
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
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash here")
	}
	m, s := openPTY(t)
	cmd := exec.Command(bash, "-c", "set -m\n"+script)
	cmd.Env, cmd.Stdin, cmd.Stdout, cmd.Stderr = env, s, s, s
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); s.Close(); close(done) }()
	var out bytes.Buffer
	buf := make([]byte, 4096)
	deadline := time.Now().Add(30 * time.Second)
	m.SetReadDeadline(deadline)
	for {
		n, err := m.Read(buf)
		out.Write(buf[:n])
		if stop != "" && strings.Contains(out.String(), stop) {
			cmd.Process.Kill()
			<-done
			return out.String()
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
	return out.String()
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
