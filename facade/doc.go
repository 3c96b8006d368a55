// Package facade is the Go SDK for the job API of the Istari Digital Platform.
//
// A [Client] runs tool functions (CAD extraction, simulations, model updates)
// as jobs on models, and lets agents claim jobs and report their status. Every
// method mirrors the platform's Python SDK under the Go name one would guess:
// add_job is [Client.AddJob], list_model_jobs is [Client.ListModelJobs], and
// http_request_timeout_secs is the call option [WithRequestTimeout].
//
// Input is checked before anything is sent: a bad enum value, an empty ID, an
// out-of-range page or a malformed parameters file fails with a
// [*ValidationError] that matches [ErrInvalidInput]. A non-2xx answer is an
// [*APIError] that matches [ErrNotFound], [ErrConflict] and the other
// sentinels through [errors.Is]. Transport failures wrap their cause.
// Nothing a server sends makes a method panic; a nil *Client or a nil
// context.Context does, as in any Go package.
//
// Reads (GET) are retried on connection errors, timeouts, 429, 502, 503 and
// 504; writes only when the request cannot have reached the server, so a
// retried call never creates a second job. See [RetryPolicy].
//
// [Client.AllJobs] and [Client.AllModelJobs] iterate over every page lazily,
// and [Client.WaitForJob] polls a job until it reaches a terminal status.
// [Client.Raw] returns the generated client for calls the facade does not
// cover, configured with the same base URL, auth, transport and retries.
//
// Package istaritest provides an in-memory platform for tests.
package facade
