package main

import (
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var updateHelp = flag.Bool("update-help", false, "rewrite cmd/chusme/testdata/help/*.txt from the current help")

// Every command's help is pinned in testdata/help/COMMAND.txt, so that a
// change to it shows in review; go test ./cmd/chusme -run TestHelpGolden
// -update-help rewrites them.
func TestHelpGolden(t *testing.T) {
	c := newCLI(t, "http://127.0.0.1:1", "pw")
	var cmds []string
	for _, e := range usageEntries() {
		words := strings.Fields(synopsis(e[0]))
		if !isWord(words[0]) {
			continue
		}
		cmd := words[0]
		if len(words) > 1 && isWord(words[1]) {
			cmd += " " + words[1]
		}
		if !slices.Contains(cmds, cmd) {
			cmds = append(cmds, cmd)
		}
	}
	dir := filepath.Join("testdata", "help")
	if *updateHelp {
		os.RemoveAll(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, cmd := range cmds {
		got := c.ok(append([]string{"help"}, strings.Fields(cmd)...)...)
		path := filepath.Join(dir, strings.ReplaceAll(cmd, " ", "_")+".txt")
		if *updateHelp {
			if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (run go test ./cmd/chusme -run TestHelpGolden -update-help)", err)
		}
		if got != string(want) {
			t.Errorf("chusme help %s changed (rerun with -update-help if meant):\n%s\nwant:\n%s", cmd, got, want)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.txt"))
	if !*updateHelp && len(files) != len(cmds) {
		t.Errorf("%d help files for %d commands: remove the stale ones (-update-help)", len(files), len(cmds))
	}
}
