//go:build unix

package facade_test

import (
	"bytes"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/istari-go/sdk/facade"
)

// TestHostileUploadRetryNeverOpensAFIFO: the path of an upload's file is
// replaced by a FIFO while the first attempt waits for its answer; the
// retry reads the file the call opened, and never blocks on the FIFO. The
// AddJob case takes the pass of a file over facade.SmallFileMax, the one
// the report blocked, with a file of 1 MiB.
func TestHostileUploadRetryNeverOpensAFIFO(t *testing.T) {
	for _, uc := range uploadCalls {
		t.Run(uc.name, func(t *testing.T) {
			orig := jsonArray(1 << 20)
			path := filepath.Join(t.TempDir(), "p.json")
			require.NoError(t, os.WriteFile(path, orig, 0o600))
			srv, files := retryOnceServer(t, func() {
				require.NoError(t, os.Remove(path))
				require.NoError(t, syscall.Mkfifo(path, 0o600))
			})
			c, err := facade.NewClient(srv.baseURL(), facade.WithRetry(fastRetry))
			require.NoError(t, err)
			defer c.CloseIdleConnections()
			done := make(chan error, 1)
			go func() { done <- uc.call(callCtx(t), c, path) }()
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(30 * time.Second): // a hang guard, far past callCtx's 10 s
				// A writer lets a blocked open of the FIFO return.
				if w, err := os.OpenFile(path, os.O_WRONLY, 0); err == nil {
					_ = w.Close()
				}
				<-done
				t.Fatal("the retry opened the FIFO now at the path, and blocked past the call's deadline")
			}
			got := files()
			require.Len(t, got, 2, "one retry")
			assert.True(t, bytes.Equal(orig, got[1]), "the retry sent the file the call opened")
		})
	}
}
