package istaritest

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestSmoke(t *testing.T) {
	srv := NewServer()
	defer srv.Close()
	for _, q := range []string{"/jobs?page=0", "/jobs?size=abc", "/jobs?status_name=running&archive_status=Active", "/jobs?sort=", "/nope", "/jobs/x", "/models/m1/jobs?sort=foo"} {
		req, _ := http.NewRequest("GET", srv.URL+q, nil)
		req.Header.Set("Authorization", "Bearer "+srv.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Println(q, resp.StatusCode, string(b))
	}
	body := "--X\r\nContent-Disposition: form-data; name=\"function\"\r\n\r\nf\r\n--X\r\nContent-Disposition: form-data; name=\"sources\"\r\nContent-Type: application/json\r\n\r\n{\"relationship_identifier\":\"x\"}\r\n--X\r\nContent-Disposition: form-data; name=\"operating_system\"\r\n\r\nWin 12\r\n--X--\r\n"
	req, _ := http.NewRequest("POST", srv.URL+"/models/m/jobs", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "multipart/form-data; boundary=X")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
	req, _ = http.NewRequest("PUT", srv.URL+"/jobs/j1/assigned-agent", strings.NewReader(`{"agent_id":""}`))
	req.Header.Set("Authorization", "Bearer "+srv.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, _ = http.DefaultClient.Do(req)
	b, _ = io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, string(b))
}
