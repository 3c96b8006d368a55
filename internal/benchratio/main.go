// Command benchratio reads Go benchmark output (the benchstat format that
// "go test -bench" writes), takes the median of each benchmark's runs, and
// prints two tables: the medians, and the ratios of each variant to the
// baselines of its group. It needs nothing beyond the standard library, so
// that "make bench" prints its summary without benchstat.
//
// A group is a benchmark name without its last sub-benchmark element, such
// as BenchmarkGetJob in BenchmarkGetJob/client=facade; the last element is
// the variant. Variants named by -base (such as client=generated) are the
// baselines a group's other variants are compared with, unit by unit.
//
// Usage:
//
//	go run ./internal/benchratio [-base client=generated,client=raw] [-target spec]... [file...]
//
// A -target such as "GetJob/client=facade:client=generated:sec/op<=1.10"
// checks one ratio (variant, baseline, unit, bound), and one such as
// "Upload256MiB/client=facade:heap-MiB<=8" one median; each prints MET or
// MISSED.
// With no file, standard input is read.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
)

// targets collects the repeated -target flags.
type targets []string

func (t *targets) String() string     { return strings.Join(*t, " ") }
func (t *targets) Set(v string) error { *t = append(*t, v); return nil }

func main() {
	base := flag.String("base", "client=generated,client=raw,client=raw-multipart,prefetch=0", "comma-separated baseline variants")
	var tgts targets
	flag.Var(&tgts, "target", "a ratio to check, as bench/variant:baseline:unit<=bound (or >=bound), or a median, as bench/variant:unit<=bound (repeatable)")
	flag.Parse()

	var in io.Reader = os.Stdin
	if flag.NArg() > 0 {
		var rs []io.Reader
		for _, name := range flag.Args() {
			f, err := os.Open(name)
			if err != nil {
				fmt.Fprintln(os.Stderr, "benchratio:", err)
				os.Exit(1)
			}
			defer f.Close()
			rs = append(rs, f)
		}
		in = io.MultiReader(rs...)
	}
	res, err := parse(in)
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchratio:", err)
		os.Exit(1)
	}
	if len(res.names) == 0 {
		fmt.Fprintln(os.Stderr, "benchratio: no benchmark results in the input")
		os.Exit(1)
	}
	w := os.Stdout
	printMedians(w, res)
	printRatios(w, res, strings.Split(*base, ","))
	if len(tgts) > 0 {
		if err := printTargets(w, res, tgts); err != nil {
			fmt.Fprintln(os.Stderr, "benchratio:", err)
			os.Exit(2)
		}
	}
}

// results holds every measurement by benchmark name and unit, names in
// their order of first appearance.
type results struct {
	names  []string
	values map[string]map[string][]float64
	units  map[string][]string
}

// procSuffix is the -GOMAXPROCS suffix that go test appends to names.
var procSuffix = regexp.MustCompile(`-\d+$`)

// parse reads benchmark result lines: a name, an iteration count, then
// value-unit pairs. Every other line is ignored.
func parse(r io.Reader) (*results, error) {
	res := &results{values: map[string]map[string][]float64{}, units: map[string][]string{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.ParseInt(f[1], 10, 64); err != nil {
			continue
		}
		name := procSuffix.ReplaceAllString(strings.TrimPrefix(f[0], "Benchmark"), "")
		if res.values[name] == nil {
			res.values[name] = map[string][]float64{}
			res.names = append(res.names, name)
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				break
			}
			unit := f[i+1]
			if unit == "ns/op" { // benchstat's name for it
				unit, v = "sec/op", v/1e9
			}
			if res.values[name][unit] == nil {
				res.units[name] = append(res.units[name], unit)
			}
			res.values[name][unit] = append(res.values[name][unit], v)
		}
	}
	return res, sc.Err()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// split returns a name's group and variant: BenchmarkA/b=c/d=e gives A/b=c
// and d=e. A name without sub-benchmarks is its own group, without variant.
func split(name string) (group, variant string) {
	i := strings.LastIndexByte(name, '/')
	if i < 0 {
		return name, ""
	}
	return name[:i], name[i+1:]
}

// format prints v in the unit's usual form.
func format(v float64, unit string) string {
	switch {
	case unit == "sec/op":
		switch {
		case v >= 1:
			return strconv.FormatFloat(v, 'f', 3, 64) + "s"
		case v >= 1e-3:
			return strconv.FormatFloat(v*1e3, 'f', 2, 64) + "ms"
		case v >= 1e-6:
			return strconv.FormatFloat(v*1e6, 'f', 2, 64) + "µs"
		default:
			return strconv.FormatFloat(v*1e9, 'f', 0, 64) + "ns"
		}
	case v == float64(int64(v)) && v < 1e15:
		return strconv.FormatInt(int64(v), 10)
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	default:
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
}

func printMedians(w io.Writer, res *results) {
	fmt.Fprintf(w, "\nMedians (of %s runs each)\n\n", runsLabel(res))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "benchmark\tmedians")
	for _, name := range res.names {
		var cells []string
		for _, u := range res.units[name] {
			cells = append(cells, format(median(res.values[name][u]), u)+" "+u)
		}
		fmt.Fprintf(tw, "%s\t%s\n", name, strings.Join(cells, "   "))
	}
	_ = tw.Flush()
}

// runsLabel says how many runs the medians are of: one number, or a range.
func runsLabel(res *results) string {
	lo, hi := -1, 0
	for _, name := range res.names {
		for _, u := range res.units[name] {
			n := len(res.values[name][u])
			if lo < 0 || n < lo {
				lo = n
			}
			hi = max(hi, n)
		}
	}
	if lo == hi {
		return strconv.Itoa(lo)
	}
	return fmt.Sprintf("%d to %d", lo, hi)
}

func printRatios(w io.Writer, res *results, bases []string) {
	fmt.Fprintf(w, "\nRatios of medians (variant / baseline; for sec/op, B/op, allocs/op and heap-MiB lower is better, for MB/s and req/s higher is better)\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "group\tvariant\tbaseline\tratios")
	byGroup := map[string][]string{}
	var groups []string
	for _, name := range res.names {
		g, v := split(name)
		if v == "" {
			continue
		}
		if byGroup[g] == nil {
			groups = append(groups, g)
		}
		byGroup[g] = append(byGroup[g], v)
	}
	for _, g := range groups {
		for _, b := range bases {
			if !slices.Contains(byGroup[g], b) {
				continue
			}
			bn := g + "/" + b
			for _, v := range byGroup[g] {
				if v == b {
					continue
				}
				vn := g + "/" + v
				var cells []string
				for _, u := range res.units[vn] {
					bv, ok := res.values[bn][u]
					if !ok {
						continue
					}
					den := median(bv)
					if den == 0 {
						continue
					}
					cells = append(cells, fmt.Sprintf("%s %.2fx", u, median(res.values[vn][u])/den))
				}
				if len(cells) > 0 {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", g, v, b, strings.Join(cells, "   "))
				}
			}
		}
	}
	_ = tw.Flush()
}

// target is one -target: the ratio of variant to base in unit, bounded above
// (le) or below.
type target struct {
	spec, variant, base, unit string
	le                        bool
	bound                     float64
}

func parseTarget(spec string) (target, error) {
	t := target{spec: spec}
	parts := strings.Split(spec, ":")
	var cond string
	switch len(parts) {
	case 2: // an absolute bound on the median
		t.variant, cond = parts[0], parts[1]
	case 3:
		g, _ := split(parts[0])
		t.variant, t.base, cond = parts[0], g+"/"+parts[1], parts[2]
	default:
		return t, fmt.Errorf("target %q: want bench/variant:baseline:unit<=bound or bench/variant:unit<=bound", spec)
	}
	op := "<="
	i := strings.Index(cond, op)
	if i < 0 {
		op, i = ">=", strings.Index(cond, ">=")
	}
	if i < 0 {
		return t, fmt.Errorf("target %q: the condition needs <= or >=", spec)
	}
	t.unit, t.le = cond[:i], op == "<="
	if t.unit == "ns/op" {
		t.unit = "sec/op"
	}
	var err error
	if t.bound, err = strconv.ParseFloat(cond[i+2:], 64); err != nil {
		return t, fmt.Errorf("target %q: bound: %w", spec, err)
	}
	return t, nil
}

func printTargets(w io.Writer, res *results, specs []string) error {
	fmt.Fprintf(w, "\nTargets (ratios of medians, or medians)\n\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tratio\tresult")
	for _, s := range specs {
		t, err := parseTarget(s)
		if err != nil {
			return err
		}
		vv, ok1 := res.values[t.variant][t.unit]
		den, ok2 := 1.0, true
		if t.base != "" {
			var bv []float64
			bv, ok2 = res.values[t.base][t.unit]
			den = median(bv)
		}
		if !ok1 || !ok2 || den == 0 {
			fmt.Fprintf(tw, "%s\t-\tNO DATA\n", s)
			continue
		}
		r := median(vv) / den
		met := r <= t.bound
		if !t.le {
			met = r >= t.bound
		}
		verdict := "MET"
		if !met {
			verdict = "MISSED"
		}
		val := fmt.Sprintf("%.2fx", r)
		if t.base == "" {
			val = format(r, t.unit) + " " + t.unit
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s, val, verdict)
	}
	return tw.Flush()
}
