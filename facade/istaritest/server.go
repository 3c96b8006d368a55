package istaritest

import "net/http/httptest"

// Server is a Platform listening on a loopback port, for a test to point a
// client at. Its Platform's methods (Jobs, Requests, FailOperation, …) are
// promoted, so a test can inspect and steer it while it runs; they are
// documented on [Platform] (go doc istaritest.Platform.FailOperation).
type Server struct {
	*Platform

	// URL is the platform's URL, such as http://127.0.0.1:4242: the form
	// [facade.NewClient] and ISTARI_REGISTRY_URL take. The job routes sit
	// under URL + [BasePath], where a client made with the generated
	// package must point.
	URL string
	// Token is the bearer token of the default user, a normal user
	// (DefaultToken).
	Token string
	// AdminToken is the bearer token of the default admin
	// (DefaultAdminToken), which may list the jobs of all users.
	AdminToken string

	srv *httptest.Server
}

// NewServer starts a Platform configured by opts on a loopback port, with
// ReadHeaderTimeout and IdleTimeout. Call Close when done.
func NewServer(opts ...ServerOption) *Server {
	p := New(opts...)
	srv := httptest.NewUnstartedServer(p.Handler())
	srv.Config.ReadHeaderTimeout = ReadHeaderTimeout
	srv.Config.IdleTimeout = IdleTimeout
	srv.Start()
	return &Server{
		Platform:   p,
		URL:        srv.URL,
		Token:      DefaultToken,
		AdminToken: DefaultAdminToken,
		srv:        srv,
	}
}

// Close shuts the server down and waits for the requests in flight to end.
func (s *Server) Close() { s.srv.Close() }
