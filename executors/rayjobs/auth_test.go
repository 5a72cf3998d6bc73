package rayjobs

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// authServer answers like a token-auth Ray head: 401 without a token, 403
// with a wrong one; it records the last request's headers.
func authServer(t *testing.T, token string) (url string, last func() http.Header) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		switch r.Header.Get("Authorization") {
		case "":
			http.Error(w, "Unauthorized: Missing authentication token", http.StatusUnauthorized)
		case "Bearer " + token:
			io.WriteString(w, `{"version":"4","ray_version":"2.60.0"}`)
		default:
			http.Error(w, "Forbidden: Invalid authentication token", http.StatusForbidden)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL, func() http.Header { return got }
}

func TestAuthModeAndJobHeaders(t *testing.T) {
	const token = "tok-s3cr3t-value"
	for _, tc := range []struct {
		name     string
		env      map[string]string
		headers  map[string]string
		wantAuth string
		wantTeam string
		wantErr  string // of Version
	}{
		{name: "token sent", env: map[string]string{EnvAuthToken: token}, wantAuth: "Bearer " + token},
		{name: "mode token", env: map[string]string{EnvAuthMode: "token", EnvAuthToken: token}, wantAuth: "Bearer " + token},
		{name: "disabled sends no token", env: map[string]string{EnvAuthMode: "disabled", EnvAuthToken: token},
			wantErr: "Ray needs an authentication token (HTTP 401: Unauthorized: Missing authentication token); adopipe sent no token: RAY_AUTH_MODE=disabled. Give it the cluster's token: adopipe reads it from RAY_AUTH_TOKEN, else the file named by RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token"},
		{name: "wrong token", env: map[string]string{EnvAuthToken: "not-it"},
			wantErr: "Ray rejected the authentication token (HTTP 403: Forbidden: Invalid authentication token); adopipe sent the token from RAY_AUTH_TOKEN. Give it the cluster's token: adopipe reads it from RAY_AUTH_TOKEN, else the file named by RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token"},
		{name: "no token", wantErr: "adopipe sent no token: none is set"},
		{name: "RAY_JOB_HEADERS added", env: map[string]string{EnvAuthToken: token, EnvJobHeaders: `{"X-Team": "red", "X-Extra": "x"}`},
			wantAuth: "Bearer " + token, wantTeam: "red"},
		{name: "configured headers win", env: map[string]string{EnvAuthToken: token, EnvJobHeaders: `{"X-Team": "red"}`},
			headers: map[string]string{"X-Team": "blue"}, wantAuth: "Bearer " + token, wantTeam: "blue"},
		{name: "RAY_JOB_HEADERS Authorization wins over the token", env: map[string]string{EnvAuthToken: "not-it", EnvJobHeaders: `{"Authorization": "Bearer ` + token + `"}`},
			wantAuth: "Bearer " + token},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clearAuthEnv(t)
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			url, last := authServer(t, token)
			c := newTestClient(t, url, func(c *Config) { c.Headers = tc.headers; c.Retries = -1 })
			_, err := c.Version(context.Background())
			if tc.wantErr != "" {
				if _, ok := errors.AsType[*AuthError](err); !ok || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v\nwant %s", err, tc.wantErr)
				}
				if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "not-it") {
					t.Errorf("a token is in the error: %v", err)
				}
				if tc.env[EnvAuthMode] == "disabled" && last().Get("Authorization") != "" {
					t.Errorf("RAY_AUTH_MODE=disabled sent %q", last().Get("Authorization"))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := last().Get("Authorization"); got != tc.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tc.wantAuth)
			}
			if got := last().Get("X-Team"); got != tc.wantTeam {
				t.Errorf("X-Team = %q, want %q", got, tc.wantTeam)
			}
		})
	}
}

// Configuration mistakes are errors that say what to do and never show a
// secret.
func TestAuthConfigurationErrors(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{EnvAuthMode: "token"}, "RAY_AUTH_MODE=token but no Ray token was found: adopipe reads it from RAY_AUTH_TOKEN, else the file named by RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token"},
		{map[string]string{EnvAuthMode: "tokn"}, `RAY_AUTH_MODE is "tokn": Ray knows "token" and "disabled"`},
		{map[string]string{EnvJobHeaders: `{"X-Key": "hdr-s3cr3t"`}, "RAY_JOB_HEADERS is not a JSON object"},
		{map[string]string{EnvJobHeaders: `{"X-Key": ["hdr-s3cr3t"]}`}, "RAY_JOB_HEADERS is not a JSON object"},
	} {
		clearAuthEnv(t)
		for k, v := range tc.env {
			t.Setenv(k, v)
		}
		_, err := New(Config{Address: "127.0.0.1:1"})
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "s3cr3t") {
			t.Errorf("%v: err = %v, want %q", tc.env, err, tc.want)
		}
	}
	// The token from ~/.ray/auth_token is named as such.
	clearAuthEnv(t)
	home := os.Getenv("HOME")
	os.MkdirAll(filepath.Join(home, ".ray"), 0o700)
	os.WriteFile(filepath.Join(home, ".ray", "auth_token"), []byte("stale\n"), 0o600)
	url, _ := authServer(t, "fresh")
	_, err := newTestClient(t, url, func(c *Config) { c.Retries = -1 }).Version(context.Background())
	if err == nil || !strings.Contains(err.Error(), "adopipe sent the token from ~/.ray/auth_token") {
		t.Errorf("err = %v", err)
	}
}
