package main

import (
	"bytes"
	"strings"
	"testing"
)

const sample = `goos: linux
pkg: example
BenchmarkGetJob/client=facade-2    	 100	 110 ns/op	 20 B/op	 3 allocs/op
BenchmarkGetJob/client=facade-2    	 100	 130 ns/op	 20 B/op	 3 allocs/op
BenchmarkGetJob/client=facade-2    	 100	 120 ns/op	 20 B/op	 3 allocs/op
BenchmarkGetJob/client=generated-2 	 100	 100 ns/op	 10 B/op	 2 allocs/op
BenchmarkUpload/client=facade-2    	   1	 5 ns/op	 800.5 MB/s	 0.5 heap-MiB
    some_test.go:12: a log line
PASS
`

func TestParseMedianAndTargets(t *testing.T) {
	res, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(res.names, ","); got != "GetJob/client=facade,GetJob/client=generated,Upload/client=facade" {
		t.Fatalf("names %s", got)
	}
	if m := median(res.values["GetJob/client=facade"]["sec/op"]); m != 120e-9 {
		t.Errorf("median %g, want 120e-9", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of an even count %g, want 2.5", m)
	}
	var out bytes.Buffer
	printRatios(&out, res, []string{"client=generated"})
	if !strings.Contains(out.String(), "sec/op 1.20x") || !strings.Contains(out.String(), "allocs/op 1.50x") {
		t.Errorf("ratios:\n%s", out.String())
	}
	out.Reset()
	err = printTargets(&out, res, []string{
		"GetJob/client=facade:client=generated:ns/op<=1.10",
		"GetJob/client=facade:client=generated:B/op<=2",
		"Upload/client=facade:heap-MiB<=8",
		"Upload/client=facade:MB/s>=1000",
		"Nope/client=x:sec/op<=1",
	})
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []string{"MISSED", "MET", "MET", "MISSED", "NO DATA"}
	lines = lines[len(lines)-len(want):]
	for i, w := range want {
		if !strings.HasSuffix(lines[i], w) {
			t.Errorf("target line %q, want it to end in %s", lines[i], w)
		}
	}
	if _, err := parseTarget("bad"); err == nil {
		t.Error("a malformed target parsed")
	}
}
