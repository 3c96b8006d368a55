package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"
)

// hintAfter is how long after a first signal, with the command still
// running, Main says that a second one stops it at once.
const hintAfter = 500 * time.Millisecond

// Main runs istari-jobs as a process: Run, with SIGINT and SIGTERM
// handled, and returns the exit code. The first signal ends the run's
// context, which stops the command and lets it say what it did (agent
// gives its commands their grace period). A second one stops the process
// at once: it kills the commands agent runs, then calls exit with
// ExitInterrupted.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string, exit func(int)) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	forced := &cleanups{}
	go func() {
		select {
		case <-sigs:
		case <-ctx.Done(): // Run returned
			return
		}
		cancel()
		select {
		case <-sigs:
		case <-time.After(hintAfter):
			fmt.Fprintln(stderr, "istari-jobs: stopping; press Ctrl-C again to stop at once")
			<-sigs
		}
		forced.run()
		fmt.Fprintln(stderr, "istari-jobs: interrupted again: stopped at once")
		exit(ExitInterrupted)
	}()
	return run(ctx, args, streams{
		stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv,
		isTerminal: isTerminal, forced: forced,
	})
}

// cleanups are what must be done before the process stops at once, such
// as killing the commands agent runs, which live in process groups of
// their own and would outlive it.
type cleanups struct {
	mu   sync.Mutex
	next int
	fns  map[int]func()
}

// add registers fn until the returned function is called. On a nil
// *cleanups (a run that is not the process's, such as Run's) it does
// nothing.
func (c *cleanups) add(fn func()) (remove func()) {
	if c == nil {
		return func() {}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fns == nil {
		c.fns = map[int]func(){}
	}
	id := c.next
	c.next++
	c.fns[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.fns, id)
	}
}

// run runs every cleanup registered.
func (c *cleanups) run() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fn := range c.fns {
		fn()
	}
}
