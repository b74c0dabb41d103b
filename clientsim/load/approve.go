package load

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// adminClient speaks the few calls of the admin REST API (catalog/admin)
// a Patch Tuesday needs: list the newest unapproved software updates and
// approve them for Install in "All Computers".
type adminClient struct {
	http  *http.Client
	base  string // admin base URL, no trailing slash
	token string
}

// unapproved returns the UpdateIDs of the newest n software updates that
// are neither approved, declined nor superseded (GET /api/v1/updates).
func (a adminClient) unapproved(ctx context.Context, n int) ([]string, error) {
	q := url.Values{
		"type": {"software"}, "approved": {"false"}, "declined": {"false"}, "superseded": {"false"},
		"sort": {"released"}, "order": {"desc"}, "limit": {strconv.Itoa(n)},
	}
	var list struct {
		Updates []struct {
			UpdateID string `json:"update_id"`
		} `json:"updates"`
	}
	if err := a.do(ctx, http.MethodGet, "/api/v1/updates?"+q.Encode(), nil, &list); err != nil {
		return nil, fmt.Errorf("load: list unapproved updates: %w", err)
	}
	ids := make([]string, len(list.Updates))
	for i, u := range list.Updates {
		ids[i] = strings.ToUpper(u.UpdateID)
	}
	return ids, nil
}

// approve approves update id for Install in "All Computers"
// (POST /api/v1/approvals).
func (a adminClient) approve(ctx context.Context, id string) error {
	body, err := json.Marshal(map[string]string{"update_id": strings.ToLower(id), "action": "Install"})
	if err != nil {
		return fmt.Errorf("load: approve %s: %w", id, err)
	}
	if err := a.do(ctx, http.MethodPost, "/api/v1/approvals", body, nil); err != nil {
		return fmt.Errorf("load: approve %s: %w", id, err)
	}
	return nil
}

// do sends one request and decodes a 2xx JSON answer into out (when not nil).
func (a adminClient) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(data))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
