package chusme

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Every label, as it starts the bytes it labels, is distinct from the others
// and none is a prefix of another, so no labelled value can be read as
// another's.
func TestLabelsPrefixFree(t *testing.T) {
	if len(domainSeparators) < 15 {
		t.Fatalf("only %d labels listed", len(domainSeparators))
	}
	for i, a := range domainSeparators {
		if !strings.HasPrefix(a, "chusme/v1/") {
			t.Errorf("label %q does not start with chusme/v1/", a)
		}
		for j, b := range domainSeparators {
			if i != j && strings.HasPrefix(b, a) {
				t.Errorf("label %q is a prefix of %q", a, b)
			}
		}
	}
}

// Every Label constant of the root package starts an entry of
// domainSeparators, and every VaultPurpose constant's HKDF info is one, so a
// new label or purpose can't be forgotten by the prefix test.
func TestLabelsListed(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(node ast.Node) bool {
			vs, ok := node.(*ast.ValueSpec)
			if !ok {
				return true
			}
			for i, name := range vs.Names {
				label := strings.HasPrefix(name.Name, "Label")
				if (!label && !strings.HasPrefix(name.Name, "VaultPurpose")) || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok {
					t.Errorf("%s is not a string literal", name.Name)
					continue
				}
				v, _ := strconv.Unquote(lit.Value)
				n++
				listed := false
				for _, s := range domainSeparators {
					listed = listed || (label && strings.HasPrefix(s, v)) || (!label && s == LabelVaultKey+v)
				}
				if !listed {
					t.Errorf("%s = %q is not in domainSeparators", name.Name, v)
				}
				if fset.Position(name.Pos()).Filename != "labels.go" {
					t.Errorf("%s is declared in %s, not labels.go", name.Name, fset.Position(name.Pos()).Filename)
				}
			}
			return true
		})
	}
	if n < 16 {
		t.Fatalf("found only %d Label and VaultPurpose constants", n)
	}
}

// No Go file outside labels.go spells a label inline: they all use the
// constants.
func TestNoInlineLabels(t *testing.T) {
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".")) && path != "." {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") || path == "labels.go" {
			return nil
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(node ast.Node) bool {
			if lit, ok := node.(*ast.BasicLit); ok && lit.Kind == token.STRING && strings.HasPrefix(lit.Value[1:], "chusme/v1/") {
				t.Errorf("%s spells a label inline (%s); use the constant in labels.go", path, lit.Value)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
