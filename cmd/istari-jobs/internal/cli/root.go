package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/istari-go/sdk/facade"
)

// rootCommand builds the whole command tree; every run builds its own.
func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "istari-jobs",
		Short: "Add, follow and manage jobs on the Istari Digital Platform",
		Long: `istari-jobs adds, follows and manages jobs on the Istari Digital Platform.

It reads the registry's URL from ISTARI_REGISTRY_URL (or --url) and the bearer
token from ISTARI_REGISTRY_AUTH_TOKEN (or a file named by --token-file). A token
is never taken on the command line, where the process list would show it.

Output: a table by default; -o json prints one JSON document (a job, a page,
or with list --all an array of jobs), -o jsonl one job per line, and -q (add,
list, list-model) the job ids only, one per line.

Exit codes: 0 success, 1 the platform answered with an error or could not be
reached (after the retries, which the message counts) or check found
differences, 2 a wrong command line or a value that failed a check, 3 wait
or run timed out, 4 the job run ran ended Failed or Canceled, 130 interrupted
(Ctrl-C or SIGTERM, which let the command say what it did; a second one stops
it at once).`,
		Example: `  # Try everything against an in-memory platform, with no setup:
  istari-jobs demo

  # Run the in-memory platform, then use it from another shell in the same directory:
  istari-jobs serve --addr 127.0.0.1:8080 --write-token-file token.txt
  ISTARI_REGISTRY_URL=http://127.0.0.1:8080 istari-jobs --token-file token.txt list

  # Against a real platform:
  export ISTARI_REGISTRY_URL=https://registry.example.com
  export ISTARI_REGISTRY_AUTH_TOKEN=...   # or: --token-file ~/.istari-token
  istari-jobs add --model MODEL_ID --function @istari:extract --param mode=fast
  istari-jobs wait JOB_ID --wait-timeout 10m
  istari-jobs check        # does the platform match the SDK's spec?`,
		Version:       facade.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flags().Lookup("token"); f != nil && f.Changed {
				return usageErr("%s", tokenRefusal)
			}
			switch a.output {
			case outputTable, outputJSON, outputJSONL:
			default:
				return usageErr("invalid --output %q: must be %q, %q or %q", a.output, outputTable, outputJSON, outputJSONL)
			}
			if err := checkFlagGroups(cmd); err != nil {
				return err
			}
			if a.timeout < 0 {
				return usageErr("invalid --timeout %s: must not be negative", a.timeout)
			}
			return nil
		},
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return cobraError(err)
	})

	pf := root.PersistentFlags()
	pf.StringVar(&a.url, "url", "", "the registry's `URL` (instead of $"+envURL+")")
	pf.StringVar(&a.tokenFile, "token-file", "", "read the bearer token from this `FILE` (instead of $"+envToken+")")
	pf.StringVar(&a.token, "token", "", "refused: a token on the command line would show in the process list")
	_ = pf.MarkHidden("token")
	pf.DurationVar(&a.timeout, "timeout", 0, "timeout of each request, such as 30s (0: $ISTARI_CLIENT_HTTP_REQUEST_TIMEOUT_SECS, else 60s)")
	pf.StringVarP(&a.output, "output", "o", outputTable, outputHelp)
	pf.BoolVar(&a.debug, "debug", false, "log every request (never the token) to standard error")
	pf.BoolVar(&a.insecureHTTP, "insecure-http", false, "allow plain http:// to a host that is not loopback (sends the token in clear text)")
	pf.BoolVar(&a.allowUnknown, "allow-unknown-values", false, "send --os, --status and --archive-status values the SDK does not list (for a platform newer than the SDK)")
	_ = root.RegisterFlagCompletionFunc("output", fixedCompletion(outputTable, outputJSON, outputJSONL))
	_ = root.MarkPersistentFlagFilename("token-file")

	root.AddGroup(
		&cobra.Group{ID: "jobs", Title: "Job commands:"},
		&cobra.Group{ID: "platform", Title: "Trying and checking the platform:"},
	)
	for _, c := range []*cobra.Command{
		a.addCommand(), a.runCommand(), a.getCommand(), a.updateCommand(), a.listCommand(), a.listModelCommand(),
		a.statusCommand(), a.assignCommand(), a.unassignCommand(), a.archiveCommand(), a.restoreCommand(),
		a.waitCommand(), a.agentCommand(),
	} {
		c.GroupID = "jobs"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{a.demoCommand(), a.serveCommand(), a.checkCommand()} {
		c.GroupID = "platform"
		root.AddCommand(c)
	}
	root.InitDefaultCompletionCmd()
	root.InitDefaultHelpCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "completion":
			c.Example = `  # bash, for the current shell:
  source <(istari-jobs completion bash)

  # zsh, for every new shell:
  istari-jobs completion zsh > "${fpath[1]}/_istari-jobs"`
			for _, sh := range c.Commands() {
				sh.Example = "  istari-jobs completion " + sh.Name() + " > istari-jobs." + sh.Name()
			}
		case "help":
			c.Example = "  istari-jobs help add"
		}
	}
	return root
}

// fixedCompletion completes a flag from a fixed list of values.
func fixedCompletion(values ...string) cobra.CompletionFunc {
	return func(*cobra.Command, []string, string) ([]cobra.Completion, cobra.ShellCompDirective) {
		return values, cobra.ShellCompDirectiveNoFileComp
	}
}

// enumCompletion completes a flag with the values of a facade enum.
func enumCompletion[E ~string](values []E) cobra.CompletionFunc {
	s := make([]string, len(values))
	for i, v := range values {
		s[i] = string(v)
	}
	return fixedCompletion(s...)
}

// The annotations that hold a command's flag groups, checked before it runs
// so that the message names the flags as a user typed them. Cobra's own
// groups print its internal wording ("if any flags in the group [...]").
const (
	annotExclusive = "istari-jobs/exclusive"    // "a b;c d": at most one of a and b
	annotOneOf     = "istari-jobs/one-required" // "a b": at least one of a and b
)

// markExclusive records that the flags a and b cannot be used together.
func markExclusive(cmd *cobra.Command, a, b string) { addAnnotation(cmd, annotExclusive, a+" "+b) }

// markOneRequired records that one of the flags a and b must be given.
func markOneRequired(cmd *cobra.Command, a, b string) { addAnnotation(cmd, annotOneOf, a+" "+b) }

func addAnnotation(cmd *cobra.Command, key, group string) {
	if cmd.Annotations == nil {
		cmd.Annotations = map[string]string{}
	}
	if prev := cmd.Annotations[key]; prev != "" {
		group = prev + ";" + group
	}
	cmd.Annotations[key] = group
}

// checkFlagGroups checks the flag groups recorded on cmd.
func checkFlagGroups(cmd *cobra.Command) error {
	groups := func(key string) [][]string {
		var out [][]string
		for g := range strings.SplitSeq(cmd.Annotations[key], ";") {
			if f := strings.Fields(g); len(f) == 2 {
				out = append(out, f)
			}
		}
		return out
	}
	changed := cmd.Flags().Changed
	for _, g := range groups(annotExclusive) {
		if changed(g[0]) && changed(g[1]) {
			return usageErr("--%s and --%s cannot be used together: give one of them", g[0], g[1])
		}
	}
	for _, g := range groups(annotOneOf) {
		if !changed(g[0]) && !changed(g[1]) {
			return usageErr("%s needs --%s or --%s", cmd.Name(), g[0], g[1])
		}
	}
	return nil
}
