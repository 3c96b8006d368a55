package facade

import (
	"context"
	"fmt"
	"io"
)

// OpenJobFile streams a job's current file: the bytes of its latest
// revision, such as the parameters an agent runs the job with. The caller
// must close the result.
//
// The file is never held in memory: it is read as the caller reads. The
// client's [WithMaxResponseBytes] limit applies as a stream limit (raise it
// for files larger than its 64 MiB default): a read past it fails with an
// error that matches [ErrResponseTooLarge]. The call's timeout applies as a
// stall timeout, as an upload's does: reading fails only when no byte
// arrives for that long. A failure before the answer starts is retried as
// [Client.GetJob] is; one in the middle of the file is the caller's to
// retry.
func (c *Client) OpenJobFile(ctx context.Context, jobID string, opts ...CallOption) (io.ReadCloser, error) {
	const op = OpOpenJobFile
	cc, err := opOptions(op, opts)
	if err != nil {
		return nil, err
	}
	if err := checkID("jobID", jobID); err != nil {
		return nil, err
	}
	resp, err := c.api.GetJobFile(c.callContext(ctx, op, cc), jobID)
	if err != nil {
		return nil, callError(op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, newAPIError(op, resp)
	}
	return &fileBody{ReadCloser: resp.Body}, nil
}

// fileBody is a job's file as the caller reads it. Its errors name the
// operation; one past the limit still matches ErrResponseTooLarge.
type fileBody struct{ io.ReadCloser }

func (f *fileBody) Read(p []byte) (int, error) {
	n, err := f.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = fmt.Errorf("facade: %s: read: %w", OpOpenJobFile, err)
	}
	return n, err
}
