package rayjobs

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// Environment variables read for authentication, as Ray's own client reads
// them.
const (
	EnvAuthMode      = "RAY_AUTH_MODE"       // "token" or "disabled"
	EnvAuthToken     = "RAY_AUTH_TOKEN"      // the token itself
	EnvAuthTokenPath = "RAY_AUTH_TOKEN_PATH" // a file holding it
	EnvJobHeaders    = "RAY_JOB_HEADERS"     // a JSON object of extra headers
)

// tokenPlaces says where the token is looked for, for error messages.
const tokenPlaces = "adopipe reads it from " + EnvAuthToken + ", else the file named by " + EnvAuthTokenPath + ", else ~/.ray/auth_token"

// credentials are what a client adds to every request: RAY_JOB_HEADERS,
// the configured headers over them, and Ray's token as a bearer
// Authorization header unless one is given or RAY_AUTH_MODE=disabled.
type credentials struct {
	headers http.Header
	secrets []string // every value, for redaction
	// authFrom says where the Authorization header came from, or why
	// none is sent, for an AuthError.
	authFrom string
	sent     bool
}

func loadCredentials(configured map[string]string) (credentials, error) {
	cr := credentials{headers: http.Header{}}
	add := func(k, v string) {
		cr.headers.Set(k, v)
		if v != "" {
			cr.secrets = append(cr.secrets, v)
		}
	}
	env, err := jobHeaders()
	if err != nil {
		return cr, err
	}
	for k, v := range env {
		add(k, v)
	}
	for k, v := range configured {
		add(k, v)
	}
	if cr.headers.Get("Authorization") != "" {
		cr.sent, cr.authFrom = true, "the Authorization header configured for the cluster (headers or "+EnvJobHeaders+")"
		return cr, nil
	}
	switch mode := strings.ToLower(strings.TrimSpace(os.Getenv(EnvAuthMode))); mode {
	case "disabled":
		cr.authFrom = "no token: " + EnvAuthMode + "=disabled"
		return cr, nil
	case "", "token":
		tok, from, err := authToken()
		if err != nil {
			return cr, err
		}
		if tok == "" {
			if mode == "token" {
				return cr, fmt.Errorf("%s=token but no Ray token was found: %s", EnvAuthMode, tokenPlaces)
			}
			cr.authFrom = "no token: none is set"
			return cr, nil
		}
		add("Authorization", "Bearer "+tok)
		cr.sent, cr.authFrom = true, "the token from "+from
		return cr, nil
	default:
		return cr, fmt.Errorf("%s is %q: Ray knows \"token\" and \"disabled\"", EnvAuthMode, os.Getenv(EnvAuthMode))
	}
}

// jobHeaders reads RAY_JOB_HEADERS, a JSON object of string values, as
// `ray job submit` does. Its values are secrets: an error never quotes it.
func jobHeaders() (map[string]string, error) {
	raw, ok := os.LookupEnv(EnvJobHeaders)
	if !ok || strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return nil, fmt.Errorf(`%s is not a JSON object of header names to string values, like {"X-Team": "blue"} (its content is not shown: header values are secrets)`, EnvJobHeaders)
	}
	return h, nil
}

// authToken finds Ray's token the way Ray's own loader does: RAY_AUTH_TOKEN,
// else the file named by RAY_AUTH_TOKEN_PATH, else ~/.ray/auth_token (used
// only when readable: most users have none), and says which it used. A
// RAY_AUTH_TOKEN_PATH that cannot be read is an error naming it, not a
// silent fall-through to no token and a confusing 401 later. Every client
// adopipe makes, the local head's probe included, finds its token here.
func authToken() (token, from string, err error) {
	if t := strings.TrimSpace(os.Getenv(EnvAuthToken)); t != "" {
		return t, EnvAuthToken, nil
	}
	if p := os.Getenv(EnvAuthTokenPath); p != "" {
		data, err := os.ReadFile(p)
		if err != nil {
			var reason error = err
			var pe *fs.PathError
			if errors.As(err, &pe) {
				reason = pe.Err
			}
			return "", "", fmt.Errorf("%s is %s, which cannot be read (%v): point it at the cluster's token file, or unset it", EnvAuthTokenPath, p, reason)
		}
		return strings.TrimSpace(string(data)), EnvAuthTokenPath + " (" + p + ")", nil
	}
	if home, err := os.UserHomeDir(); err == nil {
		if data, err := os.ReadFile(filepath.Join(home, ".ray", "auth_token")); err == nil {
			return strings.TrimSpace(string(data)), "~/.ray/auth_token", nil
		}
	}
	return "", "", nil
}

// AuthError is a 401 or 403 answer.
type AuthError struct {
	Status int
	Body   string
	// AuthFrom says where the Authorization header sent came from, or why
	// none was sent (never the token).
	AuthFrom string
}

func (e *AuthError) Error() string {
	what := "Ray needs an authentication token"
	if e.Status == http.StatusForbidden {
		what = "Ray rejected the authentication token"
	}
	sent := ""
	if e.AuthFrom != "" {
		sent = "; adopipe sent " + e.AuthFrom
	}
	return fmt.Sprintf("%s (HTTP %d: %s)%s. Give it the cluster's token: %s; or configure an Authorization header", what, e.Status, e.Body, sent, tokenPlaces)
}
