package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/istari-go/sdk/facade/istaritest"
)

func (a *app) serveCommand() *cobra.Command {
	var addr, tokenOut string
	var anyStatus bool
	cmd := &cobra.Command{
		Use:   "serve [--addr HOST:PORT]",
		Short: "Run the in-memory platform, to try the other commands on",
		Long: `Run facade/istaritest, an in-memory Istari platform that speaks the job API,
until interrupted (Ctrl-C or SIGTERM). It prints its URL and the token of its
test user; nothing it holds outlives it.

It enforces the status rules of api/openapi.yaml (a forbidden transition,
such as a second claim or a status after Completed, is 409);
--any-status-transition turns them off. It accepts any function name, as no
function is registered.

As a server it is bounded: a client has 10 s to send a request's headers, a
body must come at 64 KiB/s on average after its first 10 s (else 408), a
request holds at most 128 parts and 100 sources (else 422), and the platform
holds at most 100,000 jobs and about 1 GiB (then a change is 507).`,
		Example: `  istari-jobs serve --addr 127.0.0.1:8080 --write-token-file istari-token
  # in another shell:
  export ISTARI_REGISTRY_URL=http://127.0.0.1:8080
  istari-jobs --token-file istari-token add --model m1 --function @istari:extract`,
		Args: cobra.NoArgs,
		RunE: a.runE(func(*cobra.Command, []string) error {
			ln, err := (&net.ListenConfig{}).Listen(a.ctx, "tcp", addr)
			if err != nil {
				return fmt.Errorf("cannot listen on --addr %s: %w", addr, err)
			}
			if tokenOut != "" {
				if err := os.WriteFile(tokenOut, []byte(istaritest.DefaultToken+"\n"), 0o600); err != nil {
					_ = ln.Close()
					return fmt.Errorf("cannot write --write-token-file: %w", err)
				}
			}
			var opts []istaritest.ServerOption
			if anyStatus {
				opts = append(opts, istaritest.WithAnyStatusTransition())
			}
			platform := istaritest.New(opts...)
			srv := &http.Server{Handler: platform.Handler(),
				ReadHeaderTimeout: istaritest.ReadHeaderTimeout, IdleTimeout: istaritest.IdleTimeout}
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ln) }()

			base := "http://" + ln.Addr().String()
			out := a.stdout
			fmt.Fprintf(out, "In-memory Istari platform listening on %s (the job API is under %s).\n", base, istaritest.BasePath)
			fmt.Fprintf(out, "Use it from another shell:\n")
			fmt.Fprintf(out, "  export %s=%s\n", envURL, base)
			fmt.Fprintf(out, "  export %s=%s\n", envToken, istaritest.DefaultToken)
			if tokenOut != "" {
				fmt.Fprintf(out, "or, with the token in the file %s:\n", tokenOut)
				fmt.Fprintf(out, "  istari-jobs --url %s --token-file %s list\n", base, tokenOut)
			} else {
				fmt.Fprintf(out, "or keep the token in a file:\n")
				fmt.Fprintf(out, "  printf '%%s\\n' %s > istari-token\n", istaritest.DefaultToken)
				fmt.Fprintf(out, "  istari-jobs --url %s --token-file istari-token list\n", base)
			}
			fmt.Fprintf(out, "The admin token, for list --all-users, is %s.\n", istaritest.DefaultAdminToken)
			fmt.Fprintf(out, "Press Ctrl-C to stop.\n")

			select {
			case <-a.ctx.Done():
			case err := <-served:
				return fmt.Errorf("serve: %w", err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			err = srv.Shutdown(ctx)
			if serr := <-served; !errors.Is(serr, http.ErrServerClosed) && err == nil {
				err = serr
			}
			if err != nil {
				return fmt.Errorf("shutting down: %w", err)
			}
			fmt.Fprintln(out, "Stopped.")
			return nil
		}),
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "the address to listen on (port 0 picks a free one)")
	cmd.Flags().StringVar(&tokenOut, "write-token-file", "", "also write the test user's token to this file (mode 0600), for --token-file")
	cmd.Flags().BoolVar(&anyStatus, "any-status-transition", false, "accept any status update from anyone (turn the status rules off)")
	_ = cmd.MarkFlagFilename("write-token-file")
	return cmd
}
