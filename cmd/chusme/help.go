package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/chusme/chusme"
)

// helpError asks for the usage of a command: its words ("ceremony join"),
// or "" for every command.
type helpError struct{ command string }

func (h *helpError) Error() string { return "help requested" }

// helpFor is the error that asks for command's usage.
func helpFor(command string) error { return &helpError{command: strings.TrimSpace(command)} }

// fullUsage is the usage of every command.
func fullUsage() string {
	return usage + lifecycleUsage + devicesUsage + ceremonyUsage + contactsUsage + watchUsage
}

// usageEntries returns every command entry of the usage, in order: its
// first line (two spaces, the command and its arguments, its summary) and
// continuation lines.
func usageEntries() [][]string {
	var out [][]string
	for _, line := range strings.Split(fullUsage(), "\n") {
		switch {
		case strings.HasPrefix(line, "   ") && len(out) > 0:
			out[len(out)-1] = append(out[len(out)-1], line)
		case strings.HasPrefix(line, "  ") && !strings.HasPrefix(line, "   "):
			out = append(out, []string{line})
		}
	}
	return out
}

// commandUsage returns the usage entries of the commands whose words start
// with command's, "" if there are none.
func commandUsage(command string) string {
	var b strings.Builder
	for _, e := range usageEntries() {
		entry := strings.TrimPrefix(e[0], "  ")
		if entry == command || strings.HasPrefix(entry, command+" ") {
			b.WriteString(strings.Join(e, "\n") + "\n")
		}
	}
	if b.Len() == 0 {
		return ""
	}
	var ex []string
	for _, e := range examples {
		if e.command == command || strings.HasPrefix(e.command, command+" ") {
			ex = append(ex, "  "+e.example)
		}
	}
	if len(ex) > 0 {
		b.WriteString("\nExamples:\n" + strings.Join(ex, "\n") + "\n")
	}
	return "Usage: chusme [global flags] " + command + " …\n\n" + b.String() +
		"\nGlobal flags: --server URL, --config-dir DIR, --json, --passphrase-file F (chusme help lists every command).\n"
}

// examples are shown by chusme help COMMAND and COMMAND -h, for the
// commands they start with.
var examples = []struct{ command, example string }{
	{"keygen", "chusme keygen                                  # prints your fingerprint"},
	{"setup", "chusme setup --token-file data/setup-token    # the first administrator"},
	{"register", "chusme register --invite \"$INVITE\""},
	{"login", "chusme login --totp-code 123456"},
	{"whoami", "chusme whoami --json"},
	{"logout", "chusme logout"},
	{"admin invite", "INVITE=$(chusme admin invite --ttl 1h)"},
	{"admin ban", "chusme admin ban alice"},
	{"admin unban", "chusme admin unban alice"},
	{"admin identities", "chusme admin identities --status banned"},
	{"admin identity", "chusme admin identity alice"},
	{"admin invites", "chusme admin invites --json"},
	{"admin invite revoke", "chusme admin invite revoke 5d41402abc4b2a76b9719d911017c592"},
	{"admin stats", "chusme admin stats --hours 48"},
	{"load", "chusme load login --n 5000 --concurrency 8"},
	{"version", "chusme version"},
	{"completion", "source <(chusme completion bash)"},
	{"totp enable", "chusme totp enable; chusme totp enable --code 123456   # in a script"},
	{"totp disable", "chusme totp disable --code 123456"},
	{"backup push", "chusme backup push"},
	{"backup restore", "chusme backup restore --fingerprint 1f2e3d4c5b6a7980"},
	{"backup status", "chusme backup status"},
	{"rotate", "chusme rotate                                  # a new identity key; the old one can cancel it"},
	{"rotate cancel", "chusme rotate cancel                           # within 72 hours of the rotation"},
	{"identity verify", "chusme identity verify alice"},
	{"recovery add", "chusme recovery add                            # write the printed key down"},
	{"recovery sign-for", "chusme recovery sign-for Y2h1c21l… --key 2c1f73e3      # a guardian, for the request text"},
	{"recover", "chusme recover --fingerprint 1f2e3d4c5b6a7980     # on a new machine"},
	{"devices list", "chusme devices list"},
	{"devices join", "chusme devices join --fingerprint 1f2e3d4c5b6a7980  # on the new machine"},
	{"devices add", "chusme devices add eyJmaW5nZXJwcmludCI6…       # on a device you have"},
	{"devices remove", "chusme devices remove Mq2x                     # as devices list prints it"},
	{"ceremony dkg", "chusme ceremony dkg --threshold 2 --participants alice,bob --round-timeout 30m"},
	{"ceremony refresh", "chusme ceremony refresh 2c1f73e3 --remove bob     # bob's share no longer signs with the new ones"},
	{"ceremony reshare", "chusme ceremony reshare 2c1f73e3 --threshold 3 --participants alice,bob,carol,dave,erin"},
	{"ceremony repair", "chusme ceremony repair 2c1f73e3 --for carol                # carol then runs chusme ceremony join"},
	{"ceremony join", "chusme ceremony join --wait 1m; chusme ceremony join 1f2e3d4c --yes --expect-sha256 HEX"},
	{"ceremony sign", "chusme ceremony sign --key 2c1f73e3 --message-file msg.txt --signature-out sig"},
	{"ceremony status", "chusme ceremony status 1f2e3d4c"},
	{"ceremony list", "chusme ceremony list --status open --from-contacts"},
	{"ceremony cancel", "chusme ceremony cancel 1f2e3d4c"},
	{"ceremony decline", "chusme ceremony decline 1f2e3d4c"},
	{"keys list", "KEY=$(chusme keys list --ids)"},
	{"keys remove", "chusme keys remove 2c1f73e3                     # when keys list shows it removed"},
	{"keys show", "chusme keys show 2c1f73e3"},
	{"keys verify", "chusme keys verify 2c1f73e3 \"$(cat sig)\" msg.txt"},
	{"keys verify-cert", "chusme keys verify-cert 2c1f73e3"},
	{"contacts add", "chusme contacts add alice 8451cb26e75372233c303de0141c26347ca165cfd3f083838b5ec49e275d392d"},
	{"contacts list", "chusme contacts list"},
	{"contacts show", "chusme contacts show alice                     # compare the safety number"},
	{"contacts remove", "chusme contacts remove alice"},
	{"contacts block", "chusme contacts block 8451cb26"},
	{"contacts unblock", "chusme contacts unblock 8451cb26"},
	{"contacts blocked", "chusme contacts blocked"},
	{"watch", "chusme watch --json --max-events 10"},
}

// showHelp writes the usage asked for to w, or a usage error for a command
// that does not exist.
func showHelp(w io.Writer, h *helpError) error {
	if h.command == "" {
		_, err := io.WriteString(w, fullUsage())
		return err
	}
	text := commandUsage(h.command)
	if text == "" {
		return usagef("no command %q; run chusme help", h.command)
	}
	_, err := io.WriteString(w, text)
	return err
}

// commandTree is every command with its subcommands, from the usage, for
// the shell completions.
func commandTree() (cmds []string, subs map[string][]string) {
	subs = map[string][]string{}
	for _, e := range usageEntries() {
		words := strings.Fields(synopsis(e[0]))
		if len(words) == 0 || strings.ContainsAny(words[0], "[-") {
			continue
		}
		if !slices.Contains(cmds, words[0]) {
			cmds = append(cmds, words[0])
		}
		if len(words) > 1 && isWord(words[1]) && !slices.Contains(subs[words[0]], words[1]) {
			subs[words[0]] = append(subs[words[0]], words[1])
		}
	}
	for _, extra := range []string{"version", "completion"} {
		if !slices.Contains(cmds, extra) {
			cmds = append(cmds, extra)
		}
	}
	subs["completion"] = []string{"bash", "zsh", "fish"}
	return cmds, subs
}

// synopsis is the command part of an entry's first line: up to the gap
// of spaces before its summary.
func synopsis(line string) string {
	line = strings.TrimSpace(line)
	if i := strings.Index(line, "  "); i >= 0 {
		return line[:i]
	}
	return line
}

// isWord reports whether s is a subcommand name (lowercase letters and
// dashes) rather than an argument (ID, FP, [--flag], a|b).
func isWord(s string) bool {
	for _, r := range s {
		if (r < 'a' || r > 'z') && r != '-' {
			return false
		}
	}
	return s != "" && s[0] != '-'
}

// version prints the CLI's version.
func (e *env) version(args []string) error {
	if err := parseNoArgs(e.flags("version"), args); err != nil {
		return err
	}
	return e.output(struct {
		Version string `json:"version"`
	}{chusme.Version}, func(w io.Writer) { fmt.Fprintln(w, "chusme", chusme.Version) })
}

// completion prints a completion script for a shell: its commands and
// their subcommands, from the usage.
func (e *env) completion(args []string) error {
	rest, err := parse(e.flags("completion"), args)
	if err != nil {
		return err
	}
	if len(rest) != 1 || !slices.Contains([]string{"bash", "zsh", "fish"}, rest[0]) {
		return usagef("completion needs a shell: bash, zsh or fish")
	}
	cmds, subs := commandTree()
	w := e.stdout
	switch rest[0] {
	case "fish":
		fmt.Fprintf(w, "complete -c chusme -f -n '__fish_use_subcommand' -a '%s'\n", strings.Join(cmds, " "))
		for _, c := range cmds {
			if len(subs[c]) > 0 {
				fmt.Fprintf(w, "complete -c chusme -f -n '__fish_seen_subcommand_from %s' -a '%s'\n", c, strings.Join(subs[c], " "))
			}
		}
		return nil
	case "zsh":
		fmt.Fprintln(w, "autoload -U +X bashcompinit && bashcompinit")
	}
	fmt.Fprintln(w, "_chusme() {")
	fmt.Fprintln(w, `  local cur=${COMP_WORDS[COMP_CWORD]}`)
	fmt.Fprintln(w, `  if [ "$COMP_CWORD" -eq 1 ]; then`)
	fmt.Fprintf(w, "    COMPREPLY=($(compgen -W %q -- \"$cur\")); return\n", strings.Join(cmds, " "))
	fmt.Fprintln(w, "  fi")
	fmt.Fprintln(w, `  if [ "$COMP_CWORD" -eq 2 ]; then`)
	fmt.Fprintln(w, `    case "${COMP_WORDS[1]}" in`)
	for _, c := range cmds {
		if len(subs[c]) > 0 {
			fmt.Fprintf(w, "      %s) COMPREPLY=($(compgen -W %q -- \"$cur\"));;\n", c, strings.Join(subs[c], " "))
		}
	}
	fmt.Fprintln(w, "    esac")
	fmt.Fprintln(w, "  fi")
	fmt.Fprintln(w, "}")
	fmt.Fprintln(w, "complete -F _chusme chusme")
	return nil
}
