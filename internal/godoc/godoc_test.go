package godoc

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// maxDocLines is the longest doc comment of an exported identifier: go doc
// states contracts; mechanics go in code comments and docs/.
const maxDocLines = 15

// The packages users import.
var public = []string{"../../facade", "../../facade/istaritest", "../../facade/istariotel"}

func TestDocComments(t *testing.T) {
	checked := 0
	for _, dir := range public {
		fset := token.NewFileSet()
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(dir, e.Name()), nil, parser.ParseComments)
			require.NoError(t, err)
			{
				for _, d := range f.Decls {
					for name, doc := range exported(d) {
						checked++
						where := fset.Position(d.Pos()).String()
						if !assert.NotNil(t, doc, "%s: %s has no doc comment", where, name) {
							continue
						}
						text := doc.Text()
						assert.True(t, startsWithName(text, name),
							"%s: the doc of %s starts with %q", where, name, strings.SplitN(text, "\n", 2)[0])
						assert.LessOrEqual(t, strings.Count(text, "\n"), maxDocLines, "%s: the doc of %s is longer than %d lines", where, name, maxDocLines)
					}
				}
			}
		}
	}
	require.Greater(t, checked, 100, "exported identifiers checked")
}

// exported returns the exported identifiers d declares, with their doc
// comments: a method's, a type's, and a constant's or variable's (its own,
// or its group's when it is alone in the group or the group shares one).
func exported(d ast.Decl) map[string]*ast.CommentGroup {
	out := map[string]*ast.CommentGroup{}
	switch d := d.(type) {
	case *ast.FuncDecl:
		if !d.Name.IsExported() {
			break
		}
		if d.Recv != nil && !receiverExported(d.Recv) {
			break
		}
		out[d.Name.Name] = d.Doc
	case *ast.GenDecl:
		for _, s := range d.Specs {
			switch s := s.(type) {
			case *ast.TypeSpec:
				if s.Name.IsExported() {
					doc := s.Doc
					if doc == nil {
						doc = d.Doc
					}
					out[s.Name.Name] = doc
				}
			case *ast.ValueSpec:
				for _, n := range s.Names {
					if !n.IsExported() {
						continue
					}
					doc := s.Doc
					if doc == nil && d.Lparen.IsValid() && d.Doc != nil {
						continue // a member of a documented group, such as the Op constants
					}
					if doc == nil {
						doc = d.Doc
					}
					out[n.Name] = doc
				}
			}
		}
	}
	return out
}

func receiverExported(recv *ast.FieldList) bool {
	t := recv.List[0].Type
	if s, ok := t.(*ast.StarExpr); ok {
		t = s.X
	}
	if ix, ok := t.(*ast.IndexExpr); ok {
		t = ix.X
	}
	id, ok := t.(*ast.Ident)
	return ok && id.IsExported()
}

// startsWithName reports whether a doc comment starts with name, as Go's
// convention asks ("Name does…", "Name, given to…", "A Name is…").
func startsWithName(text, name string) bool {
	for _, article := range []string{"", "A ", "An "} {
		rest, ok := strings.CutPrefix(text, article+name)
		if ok && rest != "" && strings.ContainsRune(" ,'", rune(rest[0])) {
			return true
		}
	}
	return false
}
