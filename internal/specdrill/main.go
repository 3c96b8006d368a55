// Command specdrill rehearses a change of api/openapi.yaml, as a user who
// receives the platform's own spec would make it: in a copy of the
// repository, it adds an optional field (priority) and a new job status
// (Paused) to the spec, runs make generate, builds and vets everything, runs
// the README's examples, and reads the new field through Job.Wire. It never
// touches the repository it runs from. `make spec-drill` runs it.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// The spec edits: an optional integer field on Job, and a new status.
const (
	jobAnchor = "      properties:\n        id:\n          type: string\n          description: The id of the job.\n"
	jobField  = "        priority:\n          type: integer\n          description: The job's scheduling priority (added by make spec-drill).\n"

	statusAnchor = "Completed, Failed, Canceled, Unknown]"
	statusNew    = "Completed, Failed, Canceled, Unknown, Paused]"
)

// probe is a program, written into the copy, that reads a job sent with the
// new field and the new status.
const probe = `package main

import (
	"encoding/json"
	"fmt"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/gen"
)

func main() {
	answer := []byte(` + "`" + `{"id":"job-1","created":"2026-11-30T12:00:00Z","created_by_id":"u","comments":[],
		"archive_status_history":[],"function":{"name":"@istari:extract"},
		"file":{"id":"f","created":"2026-11-30T12:00:00Z","archive_status_history":[],"revisions":[]},
		"priority":7,
		"status_history":[{"id":"s1","job_id":"job-1","created":"2026-11-30T12:00:00Z","name":"Paused"}]}` + "`" + `)
	var job facade.Job
	if err := json.Unmarshal(answer, &job); err != nil {
		panic(err)
	}
	fmt.Printf("job.Wire().Priority = %d (the new optional field, read through Job.Wire)\n", *job.Wire().Priority)
	fmt.Printf("job.Status() = %s, known to the facade: %t, known to gen: %t (gen.JobStatusNamePaused = %q)\n",
		job.Status(), job.Status().Valid(), gen.JobStatusName(job.Status()).Valid(), gen.JobStatusNamePaused)
}
`

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "spec-drill:", err)
		os.Exit(1)
	}
}

func run() error {
	src, err := os.Getwd()
	if err != nil {
		return err
	}
	dst, err := os.MkdirTemp("", "istari-spec-drill-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dst)
	fmt.Printf("== copy %s to %s\n", src, dst)
	if err := copyTree(src, dst); err != nil {
		return err
	}

	specPath := filepath.Join(dst, "api", "openapi.yaml")
	spec, err := os.ReadFile(specPath)
	if err != nil {
		return err
	}
	s := string(spec)
	if strings.Count(s, jobAnchor) != 1 || strings.Count(s, statusAnchor) != 1 {
		return fmt.Errorf("the spec no longer has the places this drill edits; update internal/specdrill")
	}
	s = strings.Replace(s, jobAnchor, jobAnchor+jobField, 1)
	s = strings.Replace(s, statusAnchor, statusNew, 1)
	if err := os.WriteFile(specPath, []byte(s), 0o644); err != nil {
		return err
	}
	fmt.Println("== edit api/openapi.yaml: Job gains the optional field priority (integer); JobStatusName gains Paused")

	probeDir := filepath.Join(dst, "internal", "specdrillprobe")
	if err := os.MkdirAll(probeDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(probeDir, "main.go"), []byte(probe), 0o644); err != nil {
		return err
	}

	steps := [][]string{
		{"make", "--no-print-directory", "generate"},
		{"go", "build", "./..."},
		{"go", "vet", "./..."},
		{"go", "test", "-count=1", "-run", "^(TestREADME|Example)", "./facade/", "./facade/istaritest/"},
		{"go", "run", "./internal/specdrillprobe"},
	}
	for _, step := range steps {
		fmt.Printf("== %s\n", strings.Join(step, " "))
		cmd := exec.Command(step[0], step[1:]...)
		cmd.Dir, cmd.Stdout, cmd.Stderr = dst, os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(step, " "), err)
		}
	}
	diff, _ := exec.Command("git", "-C", dst, "diff", "--stat", "--", "gen/").CombinedOutput()
	fmt.Printf("== the regenerated gen/ differs from the committed one:\n%s", diff)

	// The facade does not model the new field yet: its lossless round-trip
	// test is what tells a maintainer so.
	fmt.Println("== go test -run TestConvertLosesNothing ./facade/ (expected to fail: the facade does not model priority yet)")
	conv := exec.Command("go", "test", "-count=1", "-run", "^TestConvertLosesNothing$", "./facade/")
	conv.Dir = dst
	out, err := conv.CombinedOutput()
	cmdOut := string(out)
	cmdOut = filepathClean(cmdOut, dst)
	switch {
	case err == nil:
		return fmt.Errorf("TestConvertLosesNothing passed, but the facade cannot carry a field it does not model")
	case !strings.Contains(cmdOut, "priority"):
		return fmt.Errorf("TestConvertLosesNothing failed without naming priority:\n%s", cmdOut)
	}
	fmt.Println("   it fails and names the field: \"priority\" is in the generated JSON but not in the facade's")
	fmt.Println("== spec drill passed")
	return nil
}

// filepathClean shortens the temporary directory in output.
func filepathClean(s, dir string) string { return strings.ReplaceAll(s, dir, "<copy>") }

// copyTree copies the working tree at src to dst, .git included (so that
// git diff can show what make generate changed), build outputs excluded.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case !d.Type().IsRegular():
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, info.Mode().Perm())
	})
}
