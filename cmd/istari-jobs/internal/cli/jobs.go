package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"iter"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/istari-go/sdk/facade"
)

// jobIDArg checks that a command got exactly one JOB_ID argument.
func jobIDArg(cmd *cobra.Command, args []string) error {
	if len(args) != 1 {
		return usageErr("%s takes exactly one JOB_ID argument, got %d", cmd.Name(), len(args))
	}
	return nil
}

// modelIDArg checks that list-model got its model once: as its one
// MODEL_ID argument or as --model.
func modelIDArg(cmd *cobra.Command, args []string) error {
	flag := cmd.Flags().Changed("model")
	switch {
	case len(args) > 1:
		return usageErr("%s takes one MODEL_ID argument, got %d", cmd.Name(), len(args))
	case len(args) == 1 && flag:
		return usageErr("MODEL_ID and --model cannot be used together")
	case len(args) == 0 && !flag:
		return usageErr("%s needs a MODEL_ID argument: %s MODEL_ID", cmd.Name(), cmd.CommandPath())
	}
	return nil
}

// revisionFlags are the metadata flags of a new file revision.
type revisionFlags struct {
	sources                                           []string
	description, versionName, externalID, displayName string
}

func (r *revisionFlags) register(fs *pflag.FlagSet) {
	fs.StringArrayVar(&r.sources, "source", nil, "a `REVISION_ID[:RELATIONSHIP]` source of the file revision (repeatable)")
	fs.StringVar(&r.description, "description", "", "a description of the file revision")
	fs.StringVar(&r.versionName, "version-name", "", "a version label for the file revision")
	fs.StringVar(&r.externalID, "external-id", "", "an identifier of the revision in an external system")
	fs.StringVar(&r.displayName, "display-name", "", "a human-readable name for the revision")
}

// parseSources parses the --source values.
func parseSources(values []string) ([]facade.NewSource, error) {
	var out []facade.NewSource
	for _, v := range values {
		rev, rel, _ := strings.Cut(v, ":")
		if strings.TrimSpace(rev) == "" {
			return nil, usageErr("invalid --source %q: want REVISION_ID[:RELATIONSHIP]", v)
		}
		out = append(out, facade.NewSource{RevisionID: rev, RelationshipIdentifier: rel})
	}
	return out, nil
}

// parseParams parses the --param values into an object: each value is
// taken as JSON when it is valid JSON, and as a string otherwise.
func parseParams(values []string) (map[string]any, error) {
	if len(values) == 0 {
		return nil, nil
	}
	out := make(map[string]any, len(values))
	for _, kv := range values {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || strings.TrimSpace(k) == "" {
			return nil, usageErr("invalid --param %q: want KEY=VALUE", kv)
		}
		out[k] = jsonOrString(v)
	}
	return out, nil
}

func jsonOrString(v string) any {
	if !json.Valid([]byte(v)) {
		return v
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(v)))
	dec.UseNumber() // keep large numbers exact
	var x any
	if err := dec.Decode(&x); err != nil {
		return v
	}
	return x
}

// parseEnum parses a flag's enum value, naming the flag in the error. The
// SDK's spelling of a value it knows wins; with --allow-unknown-values
// another value is passed on as given, for the facade to send
// (facade.WithLenientEnums still refuses space and control characters).
func parseEnum[E ~string](flag, s string, parse func(string) (E, error), allowUnknown bool) (E, error) {
	if s == "" {
		return "", nil
	}
	v, err := parse(s)
	if err == nil {
		return v, nil
	}
	if allowUnknown {
		return E(s), nil
	}
	reason := err.Error()
	var ve *facade.ValidationError
	if errors.As(err, &ve) {
		reason = ve.Reason
	}
	return "", usageErr("invalid %s %q: %s (--allow-unknown-values sends a value the SDK does not list)", flag, s, reason)
}

// addFlags are the flags that describe one new job, shared by add and run.
type addFlags struct {
	model, function, paramsFile, tool, toolVersion, os string
	agent, agentPool, createdBy                        string
	params                                             []string
	rev                                                revisionFlags
}

func (f *addFlags) register(cmd *cobra.Command) {
	fs := cmd.Flags()
	fs.StringVar(&f.model, "model", "", "the `MODEL_ID` of the model the job runs on (required)")
	fs.StringVar(&f.function, "function", "", "the function `NAME` the job runs, such as \"@istari:extract\" (required)")
	fs.StringArrayVar(&f.params, "param", nil, "a parameter as `KEY=VALUE`; VALUE is JSON if it parses, else a string (repeatable)")
	fs.StringVar(&f.paramsFile, "parameters-file", "", "a JSON `FILE` sent as the job's parameters")
	fs.StringVar(&f.tool, "tool", "", "the tool the function runs with")
	fs.StringVar(&f.toolVersion, "tool-version", "", "the tool's version")
	fs.StringVar(&f.os, "os", "", "the operating system (`OS`) the job runs on, such as \"Ubuntu 24.04\"")
	fs.StringVar(&f.agent, "agent", "", "assign the job to this `AGENT_ID`")
	fs.StringVar(&f.agentPool, "agent-pool", "", "assign the job to this agent pool (`POOL_ID`)")
	fs.StringVar(&f.createdBy, "created-by-agent", "", "the agent that creates the job")
	f.rev.register(fs)
	_ = cmd.MarkFlagRequired("model")
	_ = cmd.MarkFlagRequired("function")
	markExclusive(cmd, "param", "parameters-file")
	markExclusive(cmd, "agent", "agent-pool")
	_ = cmd.MarkFlagFilename("parameters-file", "json")
	_ = cmd.RegisterFlagCompletionFunc("os", enumCompletion(facade.OSValues()))
}

// job checks the flags and returns them as the parameters of AddJob.
func (f *addFlags) job(a *app) (facade.AddJobParams, error) {
	osName, err := parseEnum("--os", f.os, facade.ParseOS, a.allowUnknown)
	if err != nil {
		return facade.AddJobParams{}, err
	}
	sources, err := parseSources(f.rev.sources)
	if err != nil {
		return facade.AddJobParams{}, err
	}
	params, err := parseParams(f.params)
	if err != nil {
		return facade.AddJobParams{}, err
	}
	p := facade.AddJobParams{
		ModelID: f.model, Function: f.function, ParametersFile: f.paramsFile,
		ToolName: f.tool, ToolVersion: f.toolVersion, OperatingSystem: osName,
		AssignedAgentID: f.agent, AssignedAgentPoolID: f.agentPool, AgentID: f.createdBy,
		Sources: sources, Description: f.rev.description, VersionName: f.rev.versionName,
		ExternalIdentifier: f.rev.externalID, DisplayName: f.rev.displayName,
	}
	if params != nil {
		p.Parameters = params
	}
	return p, nil
}

func (a *app) addCommand() *cobra.Command {
	var f addFlags
	cmd := &cobra.Command{
		Use:   "add --model MODEL_ID --function NAME [flags]",
		Short: "Add a job to a model",
		Long: `Add a job that runs a function on a model. Its parameters are sent as the
job's JSON file: either the --param values as one object, or the file named by
--parameters-file, as it is.`,
		Example: `  istari-jobs add --model 7d0c... --function @istari:extract --param mode=fast --param pages=[1,2]
  istari-jobs add --model 7d0c... --function @istari:extract --parameters-file params.json \
      --tool ansys --tool-version 2024R1 --os "Ubuntu 24.04" --agent-pool gpu`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			p, err := f.job(a)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			progress, done := a.uploadProgress(f.paramsFile)
			job, err := c.AddJob(a.ctx, p, progress...)
			done()
			if err != nil {
				return err
			}
			return a.printJob(job)
		}),
	}
	f.register(cmd)
	cmd.Flags().BoolVarP(&a.quiet, "quiet", "q", false, "print the new job's id only")
	markExclusive(cmd, "quiet", "output")
	return a.withBatch(cmd) // --batch FILE (batch.go)
}

func (a *app) getCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "get JOB_ID",
		Short: "Show a job in detail",
		Long: `Show a job: its model, function, tool and version, operating systems, agent
and agent pool, archive state, file, its products (the outputs its agent
recorded on the file's latest revision: the revision ids to give --source),
and its whole status history with each entry's agent and message. -o json
prints the job as the platform sent it.`,
		Example: "  istari-jobs get 3f2a...\n  istari-jobs get 3f2a... -o json | jq .status_history\n" +
			"  istari-jobs get 3f2a... -o json | jq -r '.file.revisions[-1].products[].revision_id'",
		Args: jobIDArg,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			job, err := c.GetJob(a.ctx, args[0])
			if err != nil {
				return err
			}
			return a.printJobDetail(job)
		}),
	}
}

func (a *app) updateCommand() *cobra.Command {
	var (
		path string
		rev  revisionFlags
	)
	cmd := &cobra.Command{
		Use:   "update JOB_ID --file PATH [flags]",
		Short: "Replace a job's file",
		Long: `Replace a job's file with a new one, streamed from disk, and record the new
revision's metadata.`,
		Example: `  istari-jobs update 3f2a... --file params-v2.json --version-name v2 --description "more pages"`,
		Args:    jobIDArg,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			sources, err := parseSources(rev.sources)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			progress, done := a.uploadProgress(path)
			job, err := c.UpdateJob(a.ctx, args[0], facade.UpdateJobParams{
				Path: path, Sources: sources, Description: rev.description, VersionName: rev.versionName,
				ExternalIdentifier: rev.externalID, DisplayName: rev.displayName,
			}, progress...)
			done()
			if err != nil {
				return err
			}
			return a.printJob(job)
		}),
	}
	cmd.Flags().StringVar(&path, "file", "", "the new `FILE` (required)")
	rev.register(cmd.Flags())
	_ = cmd.MarkFlagRequired("file")
	_ = cmd.MarkFlagFilename("file")
	return cmd
}

// listFlags are the filters of list and list-model.
type listFlags struct {
	model, status, archive, sort string
	agent, pool, name            string
	page, size                   int
	all, allUsers                bool
}

func (l *listFlags) register(a *app, cmd *cobra.Command, forModel bool) {
	fs := cmd.Flags()
	if forModel {
		fs.StringVar(&l.model, "model", "", "the model whose jobs to list, instead of MODEL_ID")
	} else {
		fs.StringVar(&l.model, "model", "", "keep the jobs of this model")
		fs.BoolVar(&l.allUsers, "all-users", false, "list the jobs of every user (needs admin privileges)")
		fs.StringVar(&l.name, "name", "", "keep the jobs whose display name contains this `TEXT`")
	}
	fs.StringVar(&l.agent, "assigned-agent", "", "keep the jobs assigned to this agent `ID`")
	fs.StringVar(&l.pool, "pool", "", "keep the jobs assigned to this agent pool `ID`")
	fs.StringVar(&l.status, "status", "", "keep the jobs whose current `STATUS` is this, such as Running")
	fs.StringVar(&l.archive, "archive-status", "", "keep active (the default), archived or all jobs")
	fs.IntVar(&l.page, "page", 1, "the page to show, from 1")
	fs.IntVar(&l.size, "size", 0, "the page size, from 1 to 100 (default 10; 0 counts the jobs without listing them)")
	fs.StringVar(&l.sort, "sort", "", "the sort `KEY`: created (oldest first) or -created (newest first)")
	fs.BoolVar(&l.all, "all", false, "list every page (with -o json, as one JSON array)")
	fs.BoolVarP(&a.quiet, "quiet", "q", false, "print the job ids only, one per line")
	markExclusive(cmd, "quiet", "output")
	_ = cmd.RegisterFlagCompletionFunc("status", enumCompletion(facade.JobStatusNameValues()))
	_ = cmd.RegisterFlagCompletionFunc("archive-status", enumCompletion(facade.ArchiveStatusValues()))
	_ = cmd.RegisterFlagCompletionFunc("sort", fixedCompletion("created", "-created"))
}

// parsed checks the flags and returns them as list parameters.
func (l *listFlags) parsed(a *app, cmd *cobra.Command) (facade.ListJobsParams, error) {
	var p facade.ListJobsParams
	st, err := parseEnum("--status", l.status, facade.ParseJobStatusName, a.allowUnknown)
	if err != nil {
		return p, err
	}
	ar, err := parseEnum("--archive-status", l.archive, facade.ParseArchiveStatus, a.allowUnknown)
	if err != nil {
		return p, err
	}
	if l.page < 1 {
		return p, usageErr("invalid --page %d: must be 1 or more", l.page)
	}
	countOnly := cmd.Flags().Changed("size") && l.size == 0
	if countOnly && l.all {
		return p, usageErr("invalid --size 0: it counts the jobs, which --all cannot list")
	}
	if countOnly && (a.quiet || a.output == outputJSONL) {
		return p, usageErr("invalid --size 0: it counts the jobs, and -q and -o jsonl print jobs; use -o table or -o json")
	}
	return facade.ListJobsParams{
		ModelID: l.model, Status: st, AllUsers: l.allUsers, Page: l.page, Size: l.size,
		CountOnly: countOnly, ArchiveStatus: ar, Sort: l.sort,
		AssignedAgentID: l.agent, AssignedAgentPoolID: l.pool, Name: l.name,
	}, nil
}

// listFor is what list and list-model differ in.
type listFor struct {
	page func(facade.ListJobsParams) (*facade.JobPage, error)
	all  func(facade.ListJobsParams) iter.Seq2[*facade.Job, error]
}

func (a *app) runList(p facade.ListJobsParams, all bool, f listFor) error {
	if !all {
		page, err := f.page(p)
		if err != nil {
			return err
		}
		return a.printPage(page, p.CountOnly)
	}
	out, err := a.newJobStream(true)
	if err != nil {
		return err
	}
	for job, err := range f.all(p) {
		if err == nil {
			err = out.add(job)
		}
		if err != nil {
			_ = out.close(true)
			return err
		}
	}
	return out.close(false)
}

func (a *app) listCommand() *cobra.Command {
	var l listFlags
	cmd := &cobra.Command{
		Use:   "list [flags]",
		Short: "List the jobs you have access to",
		Example: `  istari-jobs list --status Running
  istari-jobs list --model 7d0c... --archive-status archived --sort -created --page 2 --size 50
  istari-jobs list --all --output json > jobs.jsonl
  istari-jobs list --size 0          # count the jobs only`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(cmd *cobra.Command, _ []string) error {
			p, err := l.parsed(a, cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			return a.runList(p, l.all, listFor{
				page: func(p facade.ListJobsParams) (*facade.JobPage, error) { return c.ListJobs(a.ctx, p) },
				all: func(p facade.ListJobsParams) iter.Seq2[*facade.Job, error] {
					return c.AllJobs(a.ctx, p)
				},
			})
		}),
	}
	l.register(a, cmd, false)
	return cmd
}

func (a *app) listModelCommand() *cobra.Command {
	var l listFlags
	cmd := &cobra.Command{
		Use:   "list-model MODEL_ID [flags]",
		Short: "List a model's jobs",
		Long: `List the jobs of the model MODEL_ID. The model may be given as --model
MODEL_ID instead, as in list and add.`,
		Example: `  istari-jobs list-model 7d0c...
  istari-jobs list-model 7d0c... --status Failed --all`,
		Args: modelIDArg,
		RunE: a.runE(func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				l.model = args[0]
			}
			p, err := l.parsed(a, cmd)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			model := func(p facade.ListJobsParams) facade.ListModelJobsParams {
				return facade.ListModelJobsParams{Status: p.Status, Page: p.Page, Size: p.Size,
					CountOnly: p.CountOnly, ArchiveStatus: p.ArchiveStatus, Sort: p.Sort,
					AssignedAgentID: p.AssignedAgentID, AssignedAgentPoolID: p.AssignedAgentPoolID}
			}
			err = a.runList(p, l.all, listFor{
				page: func(p facade.ListJobsParams) (*facade.JobPage, error) {
					return c.ListModelJobs(a.ctx, l.model, model(p))
				},
				all: func(p facade.ListJobsParams) iter.Seq2[*facade.Job, error] {
					return c.AllModelJobs(a.ctx, l.model, model(p))
				},
			})
			var ve *facade.ValidationError
			if len(args) == 1 && errors.As(err, &ve) && ve.Field == "modelID" {
				named := *ve // the facade names --model; the model came as MODEL_ID
				named.Field = "MODEL_ID"
				return usageErr("%s", validationMessage(&named))
			}
			return err
		}),
	}
	l.register(a, cmd, true)
	return cmd
}

func (a *app) statusCommand() *cobra.Command {
	var status, agent, message string
	cmd := &cobra.Command{
		Use:   "status JOB_ID --status STATUS [flags]",
		Short: "Report a job's new status (as an agent)",
		Example: `  istari-jobs status 3f2a... --status Running --agent agent-7 --message "solver started"
  istari-jobs status 3f2a... --status Failed --message "license server unreachable"`,
		Args: jobIDArg,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			st, err := parseEnum("--status", status, facade.ParseJobStatusName, a.allowUnknown)
			if err != nil {
				return err
			}
			c, err := a.client()
			if err != nil {
				return err
			}
			job, err := c.UpdateJobStatus(a.ctx, args[0], facade.UpdateJobStatusParams{Status: st, AgentID: agent, Message: message})
			if err != nil {
				return err
			}
			return a.printJob(job)
		}),
	}
	cmd.Flags().StringVar(&status, "status", "", "the new `STATUS`, such as Running or Completed (required)")
	cmd.Flags().StringVar(&agent, "agent", "", "the agent reporting the status")
	cmd.Flags().StringVar(&message, "message", "", "a message recorded with the status")
	_ = cmd.MarkFlagRequired("status")
	_ = cmd.RegisterFlagCompletionFunc("status", enumCompletion(facade.JobStatusNameValues()))
	return cmd
}

func (a *app) assignCommand() *cobra.Command {
	var agent, pool string
	cmd := &cobra.Command{
		Use:   "assign JOB_ID (--agent AGENT_ID | --agent-pool POOL_ID)",
		Short: "Assign a job to an agent or an agent pool",
		Example: `  istari-jobs assign 3f2a... --agent agent-7
  istari-jobs assign 3f2a... --agent-pool gpu-pool`,
		Args: jobIDArg,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			job, err := c.UpdateJobAssignedAgent(a.ctx, args[0], facade.AssignedAgent{AgentID: agent, AgentPoolID: pool})
			if err != nil {
				return err
			}
			return a.printJob(job)
		}),
	}
	cmd.Flags().StringVar(&agent, "agent", "", "the agent to assign the job to")
	cmd.Flags().StringVar(&pool, "agent-pool", "", "the agent pool to assign the job to")
	markOneRequired(cmd, "agent", "agent-pool")
	markExclusive(cmd, "agent", "agent-pool")
	return cmd
}

// jobCommand builds a command that takes a JOB_ID and calls one method.
func (a *app) jobCommand(use, short, example string, call func(c *facade.Client, id string) (*facade.Job, error)) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short, Example: example, Args: jobIDArg,
		RunE: a.runE(func(_ *cobra.Command, args []string) error {
			c, err := a.client()
			if err != nil {
				return err
			}
			job, err := call(c, args[0])
			if err != nil {
				return err
			}
			return a.printJob(job)
		}),
	}
}

func (a *app) unassignCommand() *cobra.Command {
	return a.jobCommand("unassign JOB_ID", "Remove a job's assigned agent and agent pool",
		"  istari-jobs unassign 3f2a...",
		func(c *facade.Client, id string) (*facade.Job, error) { return c.RemoveJobAssignedAgent(a.ctx, id) })
}

func (a *app) archiveCommand() *cobra.Command {
	var reason string
	cmd := a.jobCommand("archive JOB_ID [--reason TEXT]", "Archive a job",
		`  istari-jobs archive 3f2a... --reason "superseded by 9c1e..."`,
		func(c *facade.Client, id string) (*facade.Job, error) {
			return c.ArchiveJob(a.ctx, id, facade.ArchiveJobParams{Reason: reason})
		})
	cmd.Flags().StringVar(&reason, "reason", "", "why the job is archived")
	return cmd
}

func (a *app) restoreCommand() *cobra.Command {
	var reason string
	cmd := a.jobCommand("restore JOB_ID [--reason TEXT]", "Restore an archived job",
		`  istari-jobs restore 3f2a... --reason "archived by mistake"`,
		func(c *facade.Client, id string) (*facade.Job, error) {
			return c.RestoreJob(a.ctx, id, facade.RestoreJobParams{Reason: reason})
		})
	cmd.Flags().StringVar(&reason, "reason", "", "why the job is restored")
	return cmd
}
