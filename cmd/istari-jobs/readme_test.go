package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readmeSection is the section of the README, and of docs/cli.md, whose sh
// blocks TestReadmeCommandLine and TestCLIDocCommandLine run.
const readmeSection = "## Command line"

// shBlocks returns the fenced sh blocks of the README section that starts
// with the heading title, in order.
func shBlocks(t *testing.T, readme, title string) []string {
	t.Helper()
	start := strings.Index(readme, "\n"+title+"\n")
	require.GreaterOrEqual(t, start, 0, "README has no section %q", title)
	section := readme[start+1:]
	if end := strings.Index(section[len(title):], "\n## "); end >= 0 {
		section = section[:len(title)+end]
	}
	var (
		blocks []string
		cur    *strings.Builder
	)
	for line := range strings.SplitSeq(section, "\n") {
		switch {
		case cur == nil && strings.TrimSpace(line) == "```sh":
			cur = &strings.Builder{}
		case cur != nil && strings.TrimSpace(line) == "```":
			blocks = append(blocks, cur.String())
			cur = nil
		case cur != nil:
			cur.WriteString(line + "\n")
		}
	}
	require.Nil(t, cur, "an sh block of %q is not closed", title)
	return blocks
}

// listeningRE finds the address in serve's first line.
var listeningRE = regexp.MustCompile(`listening on http://(\S+) `)

// TestReadmeCommandLine runs the sh blocks of the README's command-line
// section, in order, as a user pasting them into a shell would (see
// runShellSection).
func TestReadmeCommandLine(t *testing.T) {
	stdout, stderr := runShellSection(t, filepath.Join("..", "..", "README.md"), readmeSection)
	assert.Contains(t, stdout, "no jobs", "list shows the empty platform")
	assert.NotContains(t, stdout+stderr, "istari-jobs: ", "no command complained")
}

// TestCLIDocCommandLine runs the sh blocks of docs/cli.md's walk-through,
// in order: an agent runs the job the walk-through adds, and wait shows it
// Completed.
func TestCLIDocCommandLine(t *testing.T) {
	stdout, stderr := runShellSection(t, filepath.Join("..", "..", "docs", "cli.md"), readmeSection)
	assert.Contains(t, stdout, "Completed", "wait shows the final status")
	assert.NotContains(t, stdout+stderr, "istari-jobs: ", "no command complained")
}

// TestRecipesCommandLine runs the sh blocks of docs/recipes.md's
// command-line section: run exits 0 for a job that completes, and 4, with
// the agent's message on stderr, for one that fails.
func TestRecipesCommandLine(t *testing.T) {
	stdout, stderr := runShellSection(t, filepath.Join("..", "..", "docs", "recipes.md"), "## On the command line")
	assert.Contains(t, stdout, "exit code 0\n")
	assert.Contains(t, stdout, "exit code 4\n")
	assert.Regexp(t, `(?m)^istari-jobs: job \S+ ended Failed: mesh did not converge$`, stderr)
	assert.Equal(t, 1, strings.Count(stderr, "istari-jobs: "), "no other command complained:\n%s", stderr)
}

// runShellSection runs the sh blocks of the section of the Markdown file doc
// that starts with the heading section, in order, as one script (set -eu),
// as a user pasting them into a shell would: in an empty directory, with a
// freshly built istari-jobs on the PATH. A line that starts serve is run by
// the test itself, on a free port, and the address the page gives is
// replaced by that port's in the lines after it. The script must succeed;
// runShellSection returns what it printed.
func runShellSection(t *testing.T, doc, section string) (stdout, stderr string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds istari-jobs")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	text, err := os.ReadFile(doc)
	require.NoError(t, err)
	blocks := shBlocks(t, string(text), section)
	require.NotEmpty(t, blocks)

	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bin := t.TempDir()
	build := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(bin, "istari-jobs"), ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	dir := t.TempDir()
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ISTARI_") && !strings.HasPrefix(kv, "PATH=") {
			env = append(env, kv)
		}
	}
	env = append(env, "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"))

	var (
		script  strings.Builder
		replace []string // old, new pairs for the lines after serve
		served  bool
	)
	script.WriteString("set -eu\n")
	for _, block := range blocks {
		for line := range strings.SplitSeq(strings.TrimSuffix(block, "\n"), "\n") {
			if fields := strings.Fields(strings.SplitN(line, " #", 2)[0]); len(fields) >= 2 && fields[0] == "istari-jobs" && fields[1] == "serve" {
				require.False(t, served, "%s starts serve twice", doc)
				served = true
				from, to := startServe(t, filepath.Join(bin, "istari-jobs"), dir, env, fields[2:])
				replace = append(replace, "http://"+from, "http://"+to)
				continue
			}
			script.WriteString(strings.NewReplacer(replace...).Replace(line) + "\n")
		}
	}
	require.True(t, served, "the section %q of %s starts no serve", section, doc)

	cmd := exec.CommandContext(ctx, sh, "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	var outBuf, errBuf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &outBuf, &errBuf
	err = cmd.Run()
	require.NoError(t, err, "the commands of %s failed\nscript:\n%s\nstdout:\n%s\nstderr:\n%s", doc, script.String(), outBuf.String(), errBuf.String())
	return outBuf.String(), errBuf.String()
}

// startServe runs "exe serve args…" in dir, on a free port instead
// of the --addr the README gives, and stops it when the test ends. It
// returns the README's address and the one serve listens on.
func startServe(t *testing.T, exe, dir string, env, args []string) (from, to string) {
	t.Helper()
	args = append([]string(nil), args...)
	for i := range args {
		if args[i] == "--addr" && i+1 < len(args) {
			from, args[i+1] = args[i+1], "127.0.0.1:0"
		}
	}
	require.NotEmpty(t, from, "the README's serve line gives no --addr")
	// Not tied to ctx, which ends before the cleanup that stops serve with
	// SIGINT, as a user would, and checks that it stopped cleanly.
	cmd := exec.Command(exe, append([]string{"serve"}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	lines := make(chan string, 64)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
		select {
		case err := <-done:
			assert.NoError(t, err)
			var last string
			for l := range lines {
				last = l
			}
			assert.Equal(t, "Stopped.", last)
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			t.Error("serve did not stop on SIGINT")
		}
	})
	var first string
	select {
	case first = <-lines:
	case <-time.After(30 * time.Second):
		t.Fatal("serve printed nothing")
	}
	m := listeningRE.FindStringSubmatch(first)
	require.NotNil(t, m, "serve's first line: %q", first)
	return from, m[1]
}
