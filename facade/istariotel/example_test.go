package istariotel_test

import (
	"context"
	"fmt"
	"log"

	"go.opentelemetry.io/otel/propagation"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/istari-go/sdk/facade"
	"github.com/istari-go/sdk/facade/istariotel"
	"github.com/istari-go/sdk/facade/istaritest"
)

// The client reports to a TracerProvider and a MeterProvider. Here they
// keep what they receive in memory, so that the example can print it; a
// service passes the providers of its own OpenTelemetry setup (with
// sdktrace.WithBatcher and sdkmetric.NewPeriodicReader around its
// exporters), or leaves the fields nil to use the global ones.
func ExampleWithTelemetry() {
	srv := istaritest.NewServer()
	defer srv.Close()
	ctx := context.Background()

	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(ctx)
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(ctx)

	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token),
		istariotel.WithTelemetry(istariotel.Config{
			TracerProvider: tp,
			MeterProvider:  mp,
			Propagator:     propagation.TraceContext{}, // traceparent on every request
		}))
	if err != nil {
		log.Fatal(err)
	}
	job, err := c.AddJob(ctx, facade.AddJobParams{ModelID: "model-1", Function: "@istari:extract", Parameters: map[string]int{"k": 1}})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := c.GetJob(ctx, job.ID); err != nil {
		log.Fatal(err)
	}

	for _, s := range spans.Ended() {
		fmt.Println("span:", s.Name(), s.SpanKind())
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		log.Fatal(err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Println("metric:", m.Name, m.Unit)
		}
	}
	// Output:
	// span: POST client
	// span: AddJob internal
	// span: GET client
	// span: GetJob internal
	// metric: http.client.request.duration s
	// metric: istari.client.upload.size By
}
