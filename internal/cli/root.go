package cli

import (
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

Exit codes: 0 success, 1 the platform answered with an error or could not be
reached, 2 a wrong command line or a value that failed a check, 3 wait timed out.`,
		Example: `  # Try everything against an in-memory platform, with no setup:
  istari-jobs demo

  # Run the in-memory platform, then use it from another shell:
  istari-jobs serve --addr 127.0.0.1:8080

  # Against a real platform:
  export ISTARI_REGISTRY_URL=https://registry.example.com
  export ISTARI_REGISTRY_AUTH_TOKEN=...   # or: --token-file ~/.istari-token
  istari-jobs add --model MODEL_ID --function @istari:extract --param mode=fast
  istari-jobs wait JOB_ID --wait-timeout 10m`,
		Version:       facade.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			if f := cmd.Flags().Lookup("token"); f != nil && f.Changed {
				return usageErr("%s", tokenRefusal)
			}
			if a.output != outputTable && a.output != outputJSON {
				return usageErr("invalid --output %q: must be %q or %q", a.output, outputTable, outputJSON)
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
		return &exitError{code: ExitUsage, err: err}
	})

	pf := root.PersistentFlags()
	pf.StringVar(&a.url, "url", "", "the registry's `URL` (instead of $"+envURL+")")
	pf.StringVar(&a.tokenFile, "token-file", "", "read the bearer token from this `FILE` (instead of $"+envToken+")")
	pf.StringVar(&a.token, "token", "", "refused: a token on the command line would show in the process list")
	_ = pf.MarkHidden("token")
	pf.DurationVar(&a.timeout, "timeout", 0, "timeout of each request, such as 30s (0: none)")
	pf.StringVarP(&a.output, "output", "o", outputTable, "output `FORMAT`: table or json")
	pf.BoolVar(&a.debug, "debug", false, "log every request (never the token) to standard error")
	pf.BoolVar(&a.insecureHTTP, "insecure-http", false, "allow plain http:// to a host that is not loopback (sends the token in clear text)")
	_ = root.RegisterFlagCompletionFunc("output", fixedCompletion(outputTable, outputJSON))
	_ = root.MarkPersistentFlagFilename("token-file")

	root.AddGroup(
		&cobra.Group{ID: "jobs", Title: "Job commands:"},
		&cobra.Group{ID: "platform", Title: "Trying it out:"},
	)
	for _, c := range []*cobra.Command{
		a.addCommand(), a.getCommand(), a.updateCommand(), a.listCommand(), a.listModelCommand(),
		a.statusCommand(), a.assignCommand(), a.unassignCommand(), a.archiveCommand(), a.restoreCommand(),
		a.waitCommand(),
	} {
		c.GroupID = "jobs"
		root.AddCommand(c)
	}
	for _, c := range []*cobra.Command{a.demoCommand(), a.serveCommand()} {
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
