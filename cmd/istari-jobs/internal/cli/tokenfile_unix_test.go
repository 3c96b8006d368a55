//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTokenFileMustBeRegular checks that --token-file refuses, before
// reading anything, a named pipe (which would block), /dev/zero (which
// would never end), a directory and a file over 64 KiB, naming the flag.
func TestTokenFileMustBeRegular(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	big := writeFile(t, "big", strings.Repeat("x", 64<<10+1))
	full := writeFile(t, "full", strings.Repeat("x", 64<<10))
	for _, tc := range []struct{ path, want string }{
		{fifo, "must be a regular file, not a named pipe"},
		{"/dev/zero", "must be a regular file, not a character device"},
		{dir, "must be a regular file, not a directory"},
		{big, "must be at most 64 KiB, not 65537 bytes"},
		{full, ""}, // 64 KiB is allowed: read, and refused by the platform
	} {
		t.Run(filepath.Base(tc.path), func(t *testing.T) {
			e := newEnv(t)
			done := make(chan result, 1)
			go func() { done <- e.run("--token-file", tc.path, "list") }()
			var r result
			select {
			case r = <-done:
			case <-time.After(30 * time.Second):
				// Unblock an open of the pipe before failing.
				if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
					_ = f.Close()
				}
				t.Fatalf("--token-file %s blocked", tc.path)
			}
			if tc.want == "" {
				assert.Equal(t, ExitAPI, r.code, r.stderr)
				assert.Contains(t, r.stderr, "401")
				return
			}
			assert.Equal(t, ExitUsage, r.code)
			assert.Contains(t, r.stderr, `invalid --token-file "`+tc.path+`": `+tc.want)
			assert.Zero(t, e.srv.Requests().Total)
		})
	}
}
