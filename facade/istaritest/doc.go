// Package istaritest provides an in-memory Istari Digital Platform that
// speaks the job API of api/openapi.yaml, for tests of code that uses the
// SDK, much as pstest does for Google Cloud Pub/Sub.
//
// Start one with NewServer, point a client at Server.URL with Server.Token
// as the bearer token, and Close it when done:
//
//	srv := istaritest.NewServer()
//	defer srv.Close()
//	c, err := facade.NewClient(srv.URL, facade.WithToken(srv.Token))
//	// … use c; then check what the platform holds:
//	jobs := srv.Jobs()
//	n := srv.Requests().ByOperation[istaritest.OpAddJob]
//
// Server.URL is the platform's URL, without the /api/v2 prefix of its job
// routes ([BasePath]), as a client takes it. A client made with the
// generated package is given srv.URL + istaritest.BasePath.
//
// To mount the platform in a server of your own, use New and
// Platform.Handler, which serves the routes under /api/v2.
//
// # Behavior
//
// The platform is strict: it answers 401 to a request without a known bearer
// token, then validates every request against the contract with kin-openapi
// and answers 422, with a detail whose loc names the offending input (such as
// ["query", "page"]), to anything the contract forbids. Unknown routes get
// 404. Every error body is {"detail": …}, as on the platform.
//
// A new job gets a UUID, its creation time, the caller as created_by_id, one
// Pending entry in its status history and one Active entry in its archive
// history. Its file gets one revision per upload (creation and each update)
// with the uploaded file's name, extension, size, media type and metadata.
// The platform keeps the bytes of every uploaded file up to MaxKeptFileSize
// (64 MiB; WithMaxKeptFileSize changes it), in memory: GET
// /jobs/{job_id}/file (getJobFile, the facade's OpenJobFile) serves those of
// the job's latest revision, so that an agent under test can read its job's
// parameters, and Platform.Uploads returns them. Of a larger file only the
// size is recorded, and getJobFile answers 404 with a detail saying that its
// bytes were not kept.
//
// Status updates follow the rules written in api/openapi.yaml's
// updateJobStatus, and a forbidden transition is 409 and changes nothing:
// Completed, Failed and Canceled are final; Claimed is accepted only while the
// job is Created or Pending and only with an agent_id, and a second claim is
// 409 with a detail that names the claimant; once a job is claimed, only its
// claimant may report a status, except Canceled, which anyone may set;
// nothing moves back to Created or Pending, except that the claimant may
// release a Claimed job to Pending; Unknown is never accepted. Everything else
// is allowed, Pending to Running without a claim included. The check and the
// update happen under one lock, so of concurrent claims exactly one wins.
// WithAnyStatusTransition turns the rules off, for tests that need any
// transition.
//
// Lists hold the caller's own jobs (all users' with all_users, for an admin
// only), filtered by model, current status (the last entry of the status
// history), assigned agent, assigned agent pool, display name (listJobs
// only: a substring of the latest revision's display_name, ignoring case)
// and archive state (active by default), sorted by created or
// -created (ties keep creation order), and paged: page 1 and size 10 by
// default, pages = ceil(total/size) and 0 when size is 0, and a page past the
// last is empty.
//
// Any authenticated user may read and change any job by its id.
//
// Functions: by default no function is registered, and the platform
// accepts any function name, tool, tool version and operating system, and
// records them on the job as the request describes them. This differs from
// the real platform, which answers 404 when no function matches (see
// addJob in api/openapi.yaml): a test that a misspelled function fails must
// register functions (WithFunctions, AddFunction), after which a job for
// one that matches none is refused with 404.
//
// # Limits
//
// The platform is a server people run, in CI or with istari-jobs serve, so
// nothing a client sends holds it or fills its memory without end:
//
//   - NewServer's server (and serve's) gives a client ReadHeaderTimeout
//     (10 s) to send a request's headers, and closes a connection idle for
//     IdleTimeout (2 min);
//   - a request body must come at MinBodyRate (64 KiB/s) on average after
//     its first BodyGrace (10 s), wherever Handler is mounted: a 32 MiB
//     upload may take 522 s, a trickle is answered 408;
//   - a body is at most WithMaxBodySize (DefaultMaxBodySize, 32 MiB; 413
//     past it), in at most MaxFormParts (128) parts with at most MaxSources
//     (100) sources (422 past them, refused as the body streams);
//   - the platform holds at most DefaultMaxStoreJobs (100,000) jobs and
//     DefaultMaxStoreBytes (1 GiB: the jobs as JSON and the kept file
//     bytes), which WithStoreLimits changes; past either, a change is
//     answered 507 Insufficient Storage and reads go on;
//   - an answer a client leaves before it is written is dropped without a
//     log line.
//
// # Steering a test
//
// WithUser and AddUser add users; WithFunctions and AddFunction register
// functions (until then, any function is accepted), after which a job for
// an unregistered function is refused with 404. WithFault, FailNext and FailOperation fail requests with a chosen
// status and Retry-After header, without changing anything; WithLatency and
// SetLatency delay requests. AddProducts gives a job outputs, as its agent
// would. Jobs, Job, Uploads and Requests tell what the platform holds and
// received.
package istaritest
