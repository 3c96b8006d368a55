package facade

import (
	"context"
	"io"
	"net/http"

	"github.com/istari-go/sdk/gen"
)

// SmallFileMax lends smallFileMax to the external tests.
const SmallFileMax = smallFileMax

// AddJobWithSmallMax is AddJob with the size up to which a parameters file
// is read whole set to smallMax, so that the external tests can drive the
// pipelined pass with files small enough for istaritest to keep.
func AddJobWithSmallMax(ctx context.Context, c *Client, p AddJobParams, smallMax int64, opts ...CallOption) (*Job, error) {
	up, err := parametersUpload(&p)
	if err != nil {
		return nil, err
	}
	up.smallMax = smallMax
	return c.sendUpload(ctx, OpAddJob, "", callOptions(opts), up, func(ctx context.Context, body io.Reader, edit gen.RequestEditorFn) (*http.Response, error) {
		return c.api.AddJobWithBody(ctx, p.ModelID, up.contentType, body, edit)
	})
}
