package istariotel_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istariotel"
	"github.com/istari-go/sdk/facade/istaritest"
)

// BenchmarkGetJobTelemetry is one GetJob with telemetry off and on (into
// OpenTelemetry's no-op providers, with the W3C propagator), against a
// loopback server that answers with bytes read once. "make bench" checks
// that telemetry=on costs at most 1.05 times telemetry=off.
func BenchmarkGetJobTelemetry(b *testing.B) {
	job := jobAnswer(b)
	var head struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(job, &head); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts []facade.Option
	}{
		{"telemetry=off", nil},
		{"telemetry=on", []facade.Option{istariotel.WithTelemetry(istariotel.Config{
			TracerProvider: tracenoop.NewTracerProvider(),
			MeterProvider:  metricnoop.NewMeterProvider(),
			Propagator:     propagation.TraceContext{},
		})}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			n := strconv.Itoa(len(job))
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				h := w.Header()
				h["Content-Type"] = []string{"application/json"}
				h["Content-Length"] = []string{n}
				_, _ = w.Write(job)
			}))
			defer srv.Close()
			tr := facade.DefaultTransport()
			defer tr.CloseIdleConnections()
			c, err := facade.NewClient(srv.URL, append([]facade.Option{facade.WithToken("bench-token"),
				facade.WithHTTPClient(&http.Client{Transport: tr})}, tc.opts...)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			for b.Loop() {
				j, err := c.GetJob(ctx, head.ID) // the answer must name the job asked for
				if err != nil || j.ID == "" {
					b.Fatal(j, err)
				}
			}
		})
	}
}

// jobAnswer returns the body of istaritest's answer to a GetJob.
func jobAnswer(b *testing.B) []byte {
	b.Helper()
	srv := istaritest.NewServer()
	defer srv.Close()
	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
	if err != nil {
		b.Fatal(err)
	}
	defer c.CloseIdleConnections()
	job, err := c.AddJob(context.Background(), facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]int{"k": 1}})
	if err != nil {
		b.Fatal(err)
	}
	resp, err := c.Raw().GetJob(context.Background(), job.ID)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatal(resp.StatusCode, err)
	}
	return body
}
