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
// a second one ends the process at once, with 130 (cli.Main).
package main

import (
	"os"

	"github.com/istari-go/sdk/cmd/istari-jobs/internal/cli"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv, os.Exit))
}
