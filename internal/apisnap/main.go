// Command apisnap writes and checks the snapshot of the exported API of the
// packages users import, facade and facade/istaritest, as Go keeps
// api/go1.N.txt: one line per exported constant (with its value), variable,
// function, type, struct field (with its tag), interface method and method,
// built with go/types. The snapshots live in api/snapshot, one file per
// package.
//
// Run from the module's root:
//
//	go run ./internal/apisnap      # compare, print the difference, exit 1 if any
//	go run ./internal/apisnap -w   # write the snapshots (make api-snapshot)
//
// Its test fails when the API differs from the snapshot, so that no change
// to the exported API goes unnoticed: an intended change is written with -w
// and gets an entry in CHANGELOG.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"go/types"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/tools/go/packages"
)

// snapshots maps each package covered to its snapshot file, relative to
// the module's root.
var snapshots = []struct{ pkg, file string }{
	{"github.com/istari-go/sdk/facade", "api/snapshot/facade.txt"},
	{"github.com/istari-go/sdk/facade/istaritest", "api/snapshot/istaritest.txt"},
}

// updateHint says how to accept a change of the API.
const updateHint = "If the change is intended, run `make api-snapshot` (go run ./internal/apisnap -w) " +
	"and add an entry for it to CHANGELOG.md, under the newest version."

func main() {
	write := flag.Bool("w", false, "write the snapshots instead of comparing them")
	root := flag.String("root", ".", "the module's root directory")
	flag.Parse()
	if err := run(*root, *write); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}

// run compares (or, with write, writes) every snapshot under root.
func run(root string, write bool) error {
	got, err := load(root)
	if err != nil {
		return err
	}
	return compare(root, got, write)
}

// compare compares got with the snapshots under root, or writes them.
func compare(root string, got map[string][]string, write bool) error {
	var diffs []error
	for _, s := range snapshots {
		path := filepath.Join(root, s.file)
		text := strings.Join(got[s.pkg], "\n") + "\n"
		if write {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
				return err
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("%w\n%s", err, updateHint)
		}
		if d := diff(strings.Split(strings.TrimSuffix(string(want), "\n"), "\n"), got[s.pkg]); d != "" {
			diffs = append(diffs, fmt.Errorf("the exported API of %s differs from %s (- only in the snapshot, + only in the code):\n%s", s.pkg, s.file, d))
		}
	}
	if len(diffs) > 0 {
		return fmt.Errorf("%w\n%s", errors.Join(diffs...), updateHint)
	}
	return nil
}

// load returns the API lines of every package covered.
func load(root string) (map[string][]string, error) {
	// NeedDeps type-checks every package from source, so that no export
	// data is read: the pinned go/packages cannot read what Go 1.27 writes.
	cfg := &packages.Config{Mode: packages.NeedName | packages.NeedTypes | packages.NeedSyntax | packages.NeedDeps | packages.NeedImports, Dir: root}
	var paths []string
	for _, s := range snapshots {
		paths = append(paths, s.pkg)
	}
	pkgs, err := packages.Load(cfg, paths...)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range pkgs {
		if len(p.Errors) > 0 {
			return nil, fmt.Errorf("load %s: %v", p.PkgPath, p.Errors[0])
		}
		out[p.PkgPath] = apiLines(p.Types)
	}
	return out, nil
}

// apiLines lists the exported API of pkg, one sorted line each.
func apiLines(pkg *types.Package) []string {
	qual := func(p *types.Package) string {
		if p == pkg {
			return ""
		}
		return p.Path()
	}
	str := func(t types.Type) string { return types.TypeString(unnamedParams(t), qual) }
	var lines []string
	add := func(format string, args ...any) { lines = append(lines, fmt.Sprintf(format, args...)) }
	scope := pkg.Scope()
	for _, name := range scope.Names() {
		obj := scope.Lookup(name)
		if !obj.Exported() {
			continue
		}
		switch o := obj.(type) {
		case *types.Const:
			add("const %s %s = %s", name, str(o.Type()), o.Val().ExactString())
		case *types.Var:
			add("var %s %s", name, str(o.Type()))
		case *types.Func:
			add("func %s%s", name, sigString(o.Type().(*types.Signature), str))
		case *types.TypeName:
			typeLines(o, str, add)
		}
	}
	slices.Sort(lines)
	return slices.Compact(lines)
}

// typeLines adds the lines of one exported type: the type, and its exported
// fields, interface methods and methods.
func typeLines(o *types.TypeName, str func(types.Type) string, add func(string, ...any)) {
	name := o.Name()
	if o.IsAlias() {
		add("type %s = %s", name, str(types.Unalias(o.Type())))
		return
	}
	named, ok := o.Type().(*types.Named)
	if !ok {
		return
	}
	tparams := ""
	if tp := named.TypeParams(); tp.Len() > 0 {
		var ps []string
		for i := range tp.Len() {
			ps = append(ps, tp.At(i).Obj().Name()+" "+str(tp.At(i).Constraint()))
		}
		tparams = "[" + strings.Join(ps, ", ") + "]"
	}
	switch u := named.Underlying().(type) {
	case *types.Struct:
		add("type %s%s struct", name, tparams)
		for i := range u.NumFields() {
			f := u.Field(i)
			if !f.Exported() {
				continue
			}
			line := fmt.Sprintf("type %s struct, %s %s", name, f.Name(), str(f.Type()))
			if f.Embedded() {
				line = fmt.Sprintf("type %s struct, embedded %s", name, str(f.Type()))
			}
			if tag := u.Tag(i); tag != "" {
				line += " `" + tag + "`"
			}
			add("%s", line)
		}
	case *types.Interface:
		add("type %s%s interface", name, tparams)
		for i := range u.NumExplicitMethods() {
			if m := u.ExplicitMethod(i); m.Exported() {
				add("type %s interface, %s%s", name, m.Name(), sigString(m.Type().(*types.Signature), str))
			}
		}
		for i := range u.NumEmbeddeds() {
			add("type %s interface, embedded %s", name, str(u.EmbeddedType(i)))
		}
	default:
		add("type %s%s %s", name, tparams, str(u))
	}
	for i := range named.NumMethods() {
		m := named.Method(i)
		if !m.Exported() {
			continue
		}
		sig := m.Type().(*types.Signature)
		recv := name
		if _, ptr := sig.Recv().Type().(*types.Pointer); ptr {
			recv = "*" + name
		}
		add("method (%s) %s%s", recv, m.Name(), sigString(sig, str))
	}
}

// sigString prints a function's signature without "func", its receiver
// and its parameters' names, which are not part of the API:
// "(context.Context, string) (*Job, error)".
func sigString(sig *types.Signature, str func(types.Type) string) string {
	var tparams []*types.TypeParam
	for i := range sig.TypeParams().Len() {
		tparams = append(tparams, sig.TypeParams().At(i))
	}
	s := types.NewSignatureType(nil, nil, nil, sig.Params(), sig.Results(), sig.Variadic())
	out := strings.TrimPrefix(str(s), "func")
	if len(tparams) > 0 {
		var ps []string
		for _, tp := range tparams {
			ps = append(ps, tp.Obj().Name()+" "+str(tp.Constraint()))
		}
		out = "[" + strings.Join(ps, ", ") + "]" + out
	}
	return out
}

// unnamedParams returns t with the names of the parameters and results of
// its function types dropped, at any depth of the composite types that
// hold them, so that renaming a parameter does not read as a change of the
// API. Named types are left as they are: their own lines show them.
func unnamedParams(t types.Type) types.Type {
	tuple := func(tu *types.Tuple) *types.Tuple {
		vars := make([]*types.Var, tu.Len())
		for i := range tu.Len() {
			v := tu.At(i)
			vars[i] = types.NewParam(v.Pos(), v.Pkg(), "", unnamedParams(v.Type()))
		}
		return types.NewTuple(vars...)
	}
	switch t := t.(type) {
	case *types.Signature:
		return types.NewSignatureType(nil, nil, nil, tuple(t.Params()), tuple(t.Results()), t.Variadic())
	case *types.Pointer:
		return types.NewPointer(unnamedParams(t.Elem()))
	case *types.Slice:
		return types.NewSlice(unnamedParams(t.Elem()))
	case *types.Array:
		return types.NewArray(unnamedParams(t.Elem()), t.Len())
	case *types.Map:
		return types.NewMap(unnamedParams(t.Key()), unnamedParams(t.Elem()))
	case *types.Chan:
		return types.NewChan(t.Dir(), unnamedParams(t.Elem()))
	}
	return t
}

// diff lists the lines only in want ("- ") and only in got ("+ ").
func diff(want, got []string) string {
	var b strings.Builder
	for _, l := range want {
		if !slices.Contains(got, l) {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range got {
		if !slices.Contains(want, l) {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
