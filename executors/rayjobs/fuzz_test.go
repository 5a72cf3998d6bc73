package rayjobs

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// FuzzResponses answers every Jobs API call with arbitrary status codes and
// bodies: the client must return an error or a value, never panic or hang.
func FuzzResponses(f *testing.F) {
	f.Add(200, []byte(`{"version":"4","ray_version":"2.60.0"}`))
	f.Add(200, []byte(`{"job_id":"x","submission_id":"s","status":"RUNNING"}`))
	f.Add(200, []byte(`[{"submission_id":"s","status":"SUCCEEDED"}]`))
	f.Add(200, []byte(`{"logs":"hello\n"}`))
	f.Add(500, []byte(`Job with submission_id s already exists. Please use a different submission_id.`))
	f.Add(404, []byte(`not found`))
	f.Add(200, []byte(`{"status": 7, "driver_exit_code": "x"}`))
	f.Add(200, []byte(`<html>garbage`))
	f.Add(200, []byte{})
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		if status < 100 || status > 599 {
			status = 200
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(status)
			w.Write(body)
		}))
		defer srv.Close()
		c, err := New(Config{Address: srv.URL, Retries: -1, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c.Version(ctx)
		c.Job(ctx, "adopipe-op-0123456789ab")
		c.List(ctx)
		c.Logs(ctx, "adopipe-op-0123456789ab")
		c.Submit(ctx, SubmitRequest{Entrypoint: "true", SubmissionID: "adopipe-op-0123456789ab"})
		c.Stop(ctx, "adopipe-op-0123456789ab")
		if ctx.Err() != nil {
			t.Fatal("a call hung until the test deadline")
		}
	})
}
