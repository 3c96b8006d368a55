package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"syscall"
	"unicode"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istaritest"
)

// The environment variables istari-jobs reads, as the Python SDK does.
const (
	envURL   = "ISTARI_REGISTRY_URL"
	envToken = "ISTARI_REGISTRY_AUTH_TOKEN"
)

// tokenRefusal explains why --token is not accepted.
const tokenRefusal = "--token is not accepted: a token on the command line shows in the process list " +
	"and the shell's history; set " + envToken + " or put the token in a file and pass --token-file"

// registry returns the registry URL and where it came from, flags first.
func (a *app) registry() (u, source string) {
	if a.url != "" {
		return a.url, "--url"
	}
	return strings.TrimSpace(a.getenv(envURL)), envURL
}

// registryURL is the URL of c's platform in its canonical form, as
// ISTARI_REGISTRY_URL takes it: the client's base URL (checked, with no
// credentials) without the /api/v2 prefix of the job routes.
func registryURL(c *facade.Client) string {
	return strings.TrimSuffix(c.BaseURL(), istaritest.BasePath)
}

// readToken returns the bearer token from --token-file or the environment,
// and records where it came from in a.tokenSource. No error message ever
// contains the token.
func (a *app) readToken() (string, error) {
	if a.tokenFile != "" {
		a.tokenSource = fmt.Sprintf("--token-file %q", a.tokenFile)
		b, err := readTokenFile(a.tokenFile)
		if err != nil {
			return "", usageErr("invalid --token-file %q: %v", a.tokenFile, err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return "", usageErr("invalid --token-file %q: the file is empty", a.tokenFile)
		}
		if strings.ContainsFunc(tok, unicode.IsSpace) {
			return "", usageErr("invalid --token-file %q: it must hold only the token, on one line", a.tokenFile)
		}
		if strings.ContainsFunc(tok, unicode.IsControl) {
			return "", usageErr("invalid --token-file %q: the token holds control characters", a.tokenFile)
		}
		return tok, nil
	}
	a.tokenSource = envToken
	tok := strings.TrimSpace(a.getenv(envToken))
	if tok == "" {
		return "", usageErr("no token: set %s or pass --token-file", envToken)
	}
	if strings.ContainsFunc(tok, unicode.IsControl) {
		return "", usageErr("invalid %s: the token holds control characters (the value is not shown)", envToken)
	}
	return tok, nil
}

// maxTokenFile is the largest --token-file read.
const maxTokenFile = 64 << 10

// readTokenFile reads a token file, which must be a regular file of at
// most maxTokenFile bytes. A named pipe, a device such as /dev/zero or a
// directory is refused before anything is read, so that neither blocks nor
// reads without end; it is opened without blocking and checked again once
// open, in case the path changed in between.
func readTokenFile(path string) ([]byte, error) {
	check := func(fi os.FileInfo) error {
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("must be a regular file, not %s", fileKind(fi.Mode()))
		}
		if fi.Size() > maxTokenFile {
			return fmt.Errorf("must be at most %d KiB, not %d bytes", maxTokenFile>>10, fi.Size())
		}
		return nil
	}
	unreadable := func(err error) error {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err // the path is in the message already
		}
		return fmt.Errorf("cannot be read: %w", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, unreadable(err)
	}
	if err := check(fi); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, unreadable(err)
	}
	defer func() { _ = f.Close() }()
	if fi, err = f.Stat(); err != nil {
		return nil, unreadable(err)
	}
	if err := check(fi); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(f, maxTokenFile+1))
	if err != nil {
		return nil, unreadable(err)
	}
	if len(b) > maxTokenFile {
		return nil, fmt.Errorf("must be at most %d KiB", maxTokenFile>>10)
	}
	return b, nil
}

// fileKind names the kind of a file that is not a regular one.
func fileKind(m os.FileMode) string {
	switch {
	case m.IsDir():
		return "a directory"
	case m&os.ModeNamedPipe != 0:
		return "a named pipe"
	case m&os.ModeSocket != 0:
		return "a socket"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// client returns a facade client configured from the flags and the
// environment (flags win).
func (a *app) client(extra ...facade.Option) (*facade.Client, error) {
	base, source := a.registry()
	if base == "" {
		return nil, usageErr("no registry URL: set %s or pass --url", envURL)
	}
	tok, err := a.readToken()
	if err != nil {
		return nil, err
	}
	return a.clientFor(base, source, tok, extra...)
}

// clientFor returns a facade client for the registry at base (given by
// source, for error messages) with the token tok and the global flags.
func (a *app) clientFor(base, source, tok string, extra ...facade.Option) (*facade.Client, error) {
	// The facade reads the rest of its configuration (ISTARI_CLIENT_*:
	// retries, timeout, log level) from the environment, with the URL and
	// token resolved here, where flags win.
	env := func(k string) string {
		switch k {
		case envURL:
			return base
		case envToken:
			return tok
		}
		return a.getenv(k)
	}
	opts := []facade.Option{
		facade.WithEnv(env),
		facade.WithHTTPClient(&http.Client{Transport: a.attempts}),
		facade.WithUserAgent("istari-jobs/" + facade.Version),
	}
	if a.timeout > 0 {
		opts = append(opts, facade.WithTimeout(a.timeout))
	}
	if a.debug {
		opts = append(opts, facade.WithLogger(slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))))
	}
	if a.insecureHTTP {
		opts = append(opts, facade.WithInsecureHTTP())
	}
	if a.allowUnknown {
		opts = append(opts, facade.WithLenientEnums())
	}
	opts = append(opts, a.clientOpts...)
	c, err := facade.NewClientFromEnv(append(opts, extra...)...)
	if err != nil {
		var ve *facade.ValidationError
		if errors.As(err, &ve) && ve.Field == envURL {
			// The facade masks what may be secret in the URL it shows (user
			// info, query values); only the name of its source changes.
			msg := validationMessage(ve)
			msg = "invalid " + source + strings.TrimPrefix(msg, "invalid "+flagForField(ve.Field))
			return nil, usageErr("%s", msg)
		}
		return nil, err
	}
	return c, nil
}

// plural returns "1 job" or "n jobs".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
