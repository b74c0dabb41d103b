package upstream

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"

	"wsus/soap"
	"wsus/sync/wsusss"
)

// Authenticate obtains a new access cookie ([MS-WSUSSS] 3.1.4.1-3;
// MS-WSUSSS.md section 7 steps 1-3): GetAuthConfig, GetAuthorizationCookie on
// the ServiceURL of the DssTargeting plug-in (resolved against the
// upstream's root), then GetCookie, passing the previous cookie if any.
// Calls that need a cookie authenticate by themselves; calling it first
// reports a wrong URL or refused account before any other work.
func (c *Client) Authenticate(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.authenticateLocked(ctx)
}

func (c *Client) authenticateLocked(ctx context.Context) error {
	ac, err := call(ctx, c, wsusss.GetAuthConfigRequest(), wsusss.ServerSyncPath, wsusss.ParseGetAuthConfigResponse)
	if err != nil {
		return fmt.Errorf("upstream: authenticate: %w", err)
	}
	var plugIn *wsusss.AuthPlugIn
	for i := range ac.AuthInfo {
		if ac.AuthInfo[i].PlugInID == wsusss.DssTargeting {
			plugIn = &ac.AuthInfo[i]
			break
		}
	}
	if plugIn == nil {
		return fmt.Errorf("upstream: authenticate: GetAuthConfig offers no %s plug-in", wsusss.DssTargeting)
	}
	authCookie, err := call(ctx, c, wsusss.GetAuthorizationCookieRequest(c.accountName, c.accountGUID), plugIn.ServiceURL, wsusss.ParseGetAuthorizationCookieResponse)
	if err != nil {
		return fmt.Errorf("upstream: authenticate: %w", err)
	}
	if authCookie.PlugInID == "" {
		// [I] The spec's answer carries it; the request needs it.
		authCookie.PlugInID = plugIn.PlugInID
	}
	cookie, err := call(ctx, c, wsusss.GetCookieRequest(authCookie, c.cookie, c.protocol), wsusss.ServerSyncPath, wsusss.ParseGetCookieResponse)
	if err != nil {
		return fmt.Errorf("upstream: authenticate: %w", err)
	}
	c.cookie = &cookie
	c.log.Info("upstream: authenticated", "url", c.base.String(), "expires", cookie.Expiration)
	return nil
}

// currentCookie returns an access cookie valid for at least RenewMargin,
// authenticating when there is none or it is about to expire, or when the
// cookie is stale (the one a call was refused with).
func (c *Client) currentCookie(ctx context.Context, stale *wsusss.Cookie) (wsusss.Cookie, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// Another goroutine may have renewed a stale cookie already.
	renew := c.cookie == nil || !c.now().Add(RenewMargin).Before(c.cookie.Expiration) ||
		stale != nil && c.cookie.Expiration.Equal(stale.Expiration) && string(c.cookie.EncryptedData) == string(stale.EncryptedData)
	if renew {
		if err := c.authenticateLocked(ctx); err != nil {
			return wsusss.Cookie{}, err
		}
	}
	return *c.cookie, nil
}

// do runs one ServerSync call that takes the access cookie: build makes the
// request from the cookie. On an InvalidCookie or CookieExpired fault it
// authenticates again and repeats the call once.
func do[T any](ctx context.Context, c *Client, build func(wsusss.Cookie) wsusss.Request, parse func([]byte) (T, error)) (T, error) {
	cookie, err := c.currentCookie(ctx, nil)
	if err != nil {
		var zero T
		return zero, err
	}
	v, err := call(ctx, c, build(cookie), wsusss.ServerSyncPath, parse)
	f, ok := errors.AsType[*wsusss.Fault](err)
	if !ok || f.Code != soap.InvalidCookie && f.Code != soap.CookieExpired {
		return v, err
	}
	c.log.Info("upstream: cookie refused, authenticating again", "operation", f.Operation, "code", f.Code)
	if cookie, err = c.currentCookie(ctx, &cookie); err != nil {
		var zero T
		return zero, err
	}
	return call(ctx, c, build(cookie), wsusss.ServerSyncPath, parse)
}

// GetConfigData returns the upstream's configuration ([MS-WSUSSS] 3.1.4.4);
// anchor is the last NewConfigAnchor, empty the first time.
func (c *Client) GetConfigData(ctx context.Context, anchor string) (*wsusss.ConfigData, error) {
	return do(ctx, c, func(ck wsusss.Cookie) wsusss.Request { return wsusss.GetConfigDataRequest(ck, anchor) },
		wsusss.ParseGetConfigDataResponse)
}

// GetRevisionIDList returns the revisions filter selects ([MS-WSUSSS]
// 3.1.4.5).
func (c *Client) GetRevisionIDList(ctx context.Context, filter wsusss.Filter) (*wsusss.RevisionIDList, error) {
	return do(ctx, c, func(ck wsusss.Cookie) wsusss.Request { return wsusss.GetRevisionIdListRequest(ck, filter) },
		wsusss.ParseGetRevisionIdListResponse)
}

// GetUpdateData returns the metadata of ids ([MS-WSUSSS] 3.1.4.6). Callers
// send at most ConfigData.MaxNumberOfUpdatesPerRequest ids, and fewer when
// the error wraps cab.ErrTooLarge.
func (c *Client) GetUpdateData(ctx context.Context, ids []wsusss.UpdateIdentity) (*wsusss.UpdateData, error) {
	return do(ctx, c, func(ck wsusss.Cookie) wsusss.Request { return wsusss.GetUpdateDataRequest(ck, ids) },
		wsusss.ParseGetUpdateDataResponse)
}

// GetUpdateDecryptionData returns the file keys of ids ([MS-WSUSSS]
// 3.1.4.18), at most ConfigData.MaxUpdatesPerRequestInGetUpdateDecryptionData
// of them.
func (c *Client) GetUpdateDecryptionData(ctx context.Context, ids []wsusss.UpdateIdentity) ([]wsusss.DecryptionData, error) {
	return do(ctx, c, func(ck wsusss.Cookie) wsusss.Request { return wsusss.GetUpdateDecryptionDataRequest(ck, ids) },
		wsusss.ParseGetUpdateDecryptionDataResponse)
}

// AccountGUID returns the identity sent in GetAuthorizationCookie
// (Config.AccountGUID, or the random one New chose).
func (c *Client) AccountGUID() uuid.UUID { return c.accountGUID }

// GetDeployments returns the upstream's target groups and approvals
// changed since deploymentAnchor ([MS-WSUSSS] 3.1.4.10, replica mode);
// syncAnchor is the Anchor of the last GetRevisionIdList for updates.
func (c *Client) GetDeployments(ctx context.Context, deploymentAnchor, syncAnchor string) (*wsusss.Deployments, error) {
	return do(ctx, c, func(ck wsusss.Cookie) wsusss.Request {
		return wsusss.GetDeploymentsRequest(ck, deploymentAnchor, syncAnchor)
	}, wsusss.ParseGetDeploymentsResponse)
}
