package serversync

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"

	"github.com/beevik/etree"
	"github.com/google/uuid"

	"wsus/internal/reqinfo"
	"wsus/soap"
	"wsus/soap/cookie"
	"wsus/sync/wsusss"
)

// getAuthConfig answers as the real WSUS does (wsusss-GetAuthConfigResponse.xml):
// LastChange, then one AuthPlugInInfo {PlugInID DssTargeting, the relative
// ServiceUrl of DssAuthWebService, an empty Parameter}. The spec says
// Parameter MUST NOT be included ([MS-WSUSSS] 3.1.4.1); the real answer
// carries it empty, and the real answer wins. No AllowedEventIds, as there.
func (s *Services) getAuthConfig(_ context.Context, req *soap.Request) (*etree.Element, error) {
	resp := req.NewResponse()
	res := resp.CreateElement("GetAuthConfigResult")
	soap.Elem(res, "LastChange", soap.FormatDateTime(s.info.ConfigChanged))
	p := res.CreateElement("AuthInfo").CreateElement("AuthPlugInInfo")
	soap.Elem(p, "PlugInID", wsusss.DssTargeting)
	soap.Elem(p, "ServiceUrl", wsusss.DssAuthPath)
	soap.Elem(p, "Parameter", "")
	return resp, nil
}

// getAuthorizationCookie validates the DSS's name and GUID ([MS-WSUSSS]
// 3.1.4.2: accountName a non-empty FQDN, RFC 1035 2.3; accountGuid a GUID;
// InvalidParameters otherwise) and returns a sealed authorization cookie
// naming it. The fault's Message names accountName "machineName", as Windows
// does (MS-WSUSSS.md section 2). [I] The spec's DSS table is not kept: the
// upstream role has no per-DSS state, so every replica can answer.
// [I] No real answer was recorded: GetAuthorizationCookieResult {PlugInId,
// CookieData} in the DssAuth namespace, as the spec's AuthorizationCookie
// (2.2.4.7) and the sync client's parser have it.
func (s *Services) getAuthorizationCookie(_ context.Context, req *soap.Request) (*etree.Element, error) {
	name := soap.Text(req.Body, "accountName")
	if !isFQDN(name) {
		return nil, soap.BadParameter("machineName")
	}
	guid, err := uuid.Parse(soap.Text(req.Body, "accountGuid"))
	if err != nil {
		return nil, soap.BadParameter("accountGuid")
	}
	now := s.now().UTC()
	sealed, err := s.sealer.SealAuth(cookie.Auth{
		ServerID: s.info.ID, ClientID: guid.String(), DNSName: name,
		IssuedAt: now, Expires: now.Add(AuthCookieLifetime),
	})
	if err != nil {
		return nil, fmt.Errorf("serversync: seal authorization cookie: %w", err)
	}
	resp := req.NewResponse()
	res := resp.CreateElement("GetAuthorizationCookieResult")
	soap.Elem(res, "PlugInId", wsusss.DssTargeting)
	soap.Elem(res, "CookieData", base64.StdEncoding.EncodeToString(sealed))
	return resp, nil
}

// isFQDN reports whether name has the syntax of RFC 1035 2.3 (letters,
// digits and hyphens in dot-separated labels of 1 to 63 characters, 255 in
// all). [I] Labels may start with a digit (RFC 1123) and a trailing dot is
// accepted.
func isFQDN(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 255 {
		return false
	}
	for label := range strings.SplitSeq(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// getCookie exchanges an authorization cookie for an access cookie,
// validating as [MS-WSUSSS] 3.1.4.3 says: authCookies must hold exactly one
// AuthorizationCookie (InvalidParameters), whose CookieData this server can
// read (InvalidAuthorizationCookie, also when another installation sealed
// it or it expired); protocolVersion "x.y" (InvalidParameters) with major
// version 1 (IncompatibleProtocolVersion). The cookie expires CookieLifetime
// from now, or with the authorization cookie if that is sooner ([MS-WSUSSS]
// note <29>). [I] oldCookie is not read: nothing of the last session carries
// over, and a DSS re-authenticating after ServerChanged sends a cookie of
// another installation there.
//
// Answer as wsusss-GetCookieResponse.xml: GetCookieResult {Expiration,
// EncryptedData}.
func (s *Services) getCookie(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	auths := soap.Children(soap.Child(req.Body, "authCookies"), "AuthorizationCookie")
	if len(auths) != 1 {
		return nil, soap.BadParameter("authCookies")
	}
	raw, err := base64.StdEncoding.DecodeString(soap.Text(auths[0], "CookieData"))
	if err != nil || len(raw) == 0 {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	auth, err := s.sealer.OpenAuth(raw)
	if err != nil {
		// Another replica's key, as for access cookies (openSession).
		cookie.LogMismatch(ctx, s.logger, s.sealer, err)
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	reqinfo.From(ctx).SetClientID(auth.ClientID)
	now := s.now().UTC()
	if auth.ServerID != s.info.ID || !now.Before(auth.Expires) {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	pv := strings.TrimSpace(soap.Text(req.Body, "protocolVersion"))
	if err := checkProtocol(pv); err != nil {
		return nil, err
	}
	expires := now.Add(CookieLifetime)
	if auth.Expires.Before(expires) {
		expires = auth.Expires
	}
	sess := cookie.Session{
		ServerID: s.info.ID, ClientID: auth.ClientID, IssuedAt: now,
		Expires: expires, ProtocolVersion: pv,
	}
	sealed, err := s.sealer.SealSession(sess)
	if err != nil {
		return nil, fmt.Errorf("serversync: seal cookie: %w", err)
	}
	resp := req.NewResponse()
	res := resp.CreateElement("GetCookieResult")
	soap.Elem(res, "Expiration", soap.FormatDateTime(sess.Expires))
	soap.Elem(res, "EncryptedData", base64.StdEncoding.EncodeToString(sealed))
	return resp, nil
}
