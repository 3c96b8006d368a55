// Command istari-jobs adds, follows and manages jobs on the Istari Digital
// Platform, from the command line. It is built only on package facade.
//
// Usage:
//
//	istari-jobs demo                       # everything, against an in-memory platform
//	istari-jobs serve --addr 127.0.0.1:8080 # the in-memory platform, for the other commands
//	istari-jobs add --model MODEL_ID --function @istari:extract --param mode=fast
//	istari-jobs get JOB_ID
//	istari-jobs list --status Running --all -o jsonl
//	istari-jobs wait JOB_ID --wait-timeout 10m
//	istari-jobs check                      # does the platform match the SDK's spec?
//
// The registry's URL comes from ISTARI_REGISTRY_URL or --url, and the token
// from ISTARI_REGISTRY_AUTH_TOKEN or --token-file; a token is never taken on
// the command line. Run "istari-jobs --help" for every command and flag.
//
// Exit codes: 0 success, 1 an error from the platform (or findings of
// check), 2 a wrong command line, 3 wait timed out, 130 interrupted. The
// first SIGINT or SIGTERM stops the command, which then says what it did;
// a second one ends the process at once, with 130.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/istari-go/sdk/internal/cli"
)

// hintAfter is how long after a first signal, with the command still
// running, the hint that a second one ends it at once is shown.
const hintAfter = 500 * time.Millisecond

func main() {
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		// The first SIGINT or SIGTERM ends ctx, which stops the command
		// and lets it say what was done; the second ends the process.
		<-sigs
		cancel()
		select {
		case <-sigs:
		case <-time.After(hintAfter):
			fmt.Fprintln(os.Stderr, "istari-jobs: stopping; press Ctrl-C again to stop at once")
			<-sigs
		}
		fmt.Fprintln(os.Stderr, "istari-jobs: interrupted again: stopped at once")
		os.Exit(cli.ExitInterrupted)
	}()
	os.Exit(cli.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}
