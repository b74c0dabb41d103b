package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"wsus/catalog/admin"
)

// maxResponseBytes bounds what the client reads of an answer; the update
// list of a large catalog is tens of megabytes.
const maxResponseBytes = 256 << 20

// apiError is a JSON error answer of the admin API.
type apiError struct {
	status int
	code   string
	reason string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("%s (%s, HTTP %d)", e.reason, e.code, e.status)
}

// client calls the admin API of one server.
type client struct {
	base  *url.URL
	token string
	hc    *http.Client
}

// newClient returns a client of the server at rawURL, e.g.
// "http://127.0.0.1:8530".
func newClient(rawURL, token string) (*client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("server URL %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("server URL %q: want http://host:port or https://host:port", rawURL)
	}
	return &client{base: u, token: token, hc: &http.Client{Timeout: 2 * time.Minute}}, nil
}

// call sends method to /api/v1/<endpoint> with query and, if body is not
// nil, body as JSON, and returns the raw JSON answer of a 2xx. A JSON error
// answer is returned as an *apiError.
func (c *client) call(ctx context.Context, method, endpoint string, query url.Values, body any) ([]byte, error) {
	u := c.base.JoinPath("api", "v1", endpoint)
	u.RawQuery = query.Encode()
	var reqBody io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("encode request: %w", err)
		}
		reqBody = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), reqBody)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, u, err)
	}
	if len(data) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", method, u, maxResponseBytes)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e admin.Error
		if json.Unmarshal(data, &e) == nil && e.Code != "" {
			return nil, &apiError{status: resp.StatusCode, code: e.Code, reason: e.Reason}
		}
		return nil, fmt.Errorf("%s %s: HTTP %s: %s", method, u, resp.Status, snippet(data))
	}
	return data, nil
}

// get calls GET /api/v1/<endpoint> and decodes the answer into v; it also
// returns the raw answer.
func (c *client) get(ctx context.Context, endpoint string, query url.Values, v any) ([]byte, error) {
	return c.do(ctx, http.MethodGet, endpoint, query, nil, v)
}

// do calls method /api/v1/<endpoint> with body (JSON, nil for none) and
// decodes the answer into v; it also returns the raw answer (for --json).
func (c *client) do(ctx context.Context, method, endpoint string, query url.Values, body, v any) ([]byte, error) {
	data, err := c.call(ctx, method, endpoint, query, body)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, fmt.Errorf("%s %s: decode answer: %w", method, endpoint, err)
	}
	return data, nil
}

// snippet returns the start of a non-JSON answer, on one line.
func snippet(b []byte) string {
	s := strings.Join(strings.Fields(string(b)), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	if s == "" {
		return "(empty body)"
	}
	return s
}
