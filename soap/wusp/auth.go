package wusp

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"wsus/catalog"
	"wsus/soap"
	"wsus/soap/cookie"
)

// plugInID is the only authorization plug-in WSUS offers.
const plugInID = "SimpleTargeting"

// clientIDPattern is ClientIdString of [MS-WUSP] 2.2.2.1.1, letters of either
// case accepted.
var clientIDPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,255}$`)

// getAuthorizationCookie records the client and returns a sealed
// authorization cookie binding its id and requested target groups.
// Invalid clientId or dnsName gets InternalServerError, as WSUS answers
// (MS-WUSP.md section 4.1).
func (s *Services) getAuthorizationCookie(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	clientID := soap.Text(req.Body, "clientId")
	dnsName := soap.Text(req.Body, "dnsName")
	if !clientIDPattern.MatchString(clientID) {
		return nil, soap.Errorf(soap.InternalServerError, "clientId")
	}
	if dnsName == "" || len(dnsName) > 255 {
		return nil, soap.Errorf(soap.InternalServerError, "dnsName")
	}
	var groups []string
	for _, g := range strings.Split(soap.Text(req.Body, "targetGroupName"), ";") {
		if g = strings.TrimSpace(g); g != "" {
			groups = append(groups, g)
		}
	}
	now := s.now().UTC()
	if err := s.cfg.Store.RecordAuthorization(ctx, clientID, dnsName, groups, now); err != nil {
		return nil, fmt.Errorf("wusp: record authorization: %w", err)
	}
	sealed, err := s.cfg.Sealer.SealAuth(cookie.Auth{
		ServerID: s.info.ID, ClientID: clientID, DNSName: dnsName, Groups: groups,
		IssuedAt: now, Expires: now.Add(AuthCookieLifetime),
	})
	if err != nil {
		return nil, fmt.Errorf("wusp: seal authorization cookie: %w", err)
	}
	resp := req.NewResponse()
	res := resp.CreateElement("GetAuthorizationCookieResult")
	soap.Elem(res, "PlugInId", plugInID)
	soap.Elem(res, "CookieData", base64.StdEncoding.EncodeToString(sealed))
	return resp, nil
}

// getConfig answers exactly what WS2025 answers (MS-WUSP.md section 2.2,
// Config): one SimpleTargeting plug-in with a relative ServiceUrl, no
// AllowedEventIds, and five properties in the observed order.
func (s *Services) getConfig(_ context.Context, req *soap.Request) (*etree.Element, error) {
	if _, _, ok := parseProtocol(soap.Text(req.Body, "protocolVersion")); !ok {
		return nil, soap.BadParameter("protocolVersion")
	}
	resp := req.NewResponse()
	res := resp.CreateElement("GetConfigResult")
	soap.Elem(res, "LastChange", soap.FormatDateTime(s.info.ConfigChanged))
	soap.Elem(res, "IsRegistrationRequired", "true")
	plugin := res.CreateElement("AuthInfo").CreateElement("AuthPlugInInfo")
	soap.Elem(plugin, "PlugInID", plugInID)
	soap.Elem(plugin, "ServiceUrl", "SimpleAuthWebService/SimpleAuth.asmx")
	soap.Elem(plugin, "Parameter", "")
	props := res.CreateElement("Properties")
	for _, p := range [][2]string{
		{"MaxExtendedUpdatesPerRequest", strconv.Itoa(MaxExtendedUpdatesPerRequest)},
		// WSUS names its UpdateServicesPackages share on the server; the
		// value is informational for clients ([I]) and is derived the same way.
		{"PackageServerShare", `\\` + hostName(req.HTTP.Host) + `\UpdateServicesPackages`},
		{"ProtocolVersion", "3.2"},
		{"IsInventoryRequired", "0"},
		{"ClientReportingLevel", "2"},
	} {
		cp := props.CreateElement("ConfigurationProperty")
		soap.Elem(cp, "Name", p[0])
		soap.Elem(cp, "Value", p[1])
	}
	return resp, nil
}

func hostName(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// getCookie exchanges one authorization cookie (and an optional old session
// cookie) for a session cookie (MS-WUSP.md section 4.2).
func (s *Services) getCookie(_ context.Context, req *soap.Request) (*etree.Element, error) {
	auths := soap.Children(soap.Child(req.Body, "authCookies"), "AuthorizationCookie")
	if len(auths) != 1 {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	raw, err := base64.StdEncoding.DecodeString(soap.Text(auths[0], "CookieData"))
	if err != nil {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	auth, err := s.cfg.Sealer.OpenAuth(raw)
	now := s.now().UTC()
	if err != nil || auth.ServerID != s.info.ID || now.After(auth.Expires) {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}

	sess := cookie.Session{
		ServerID: s.info.ID, ClientID: auth.ClientID, Groups: auth.Groups,
		IssuedAt: now, Expires: now.Add(CookieLifetime), ConfigChanged: s.info.ConfigChanged,
	}
	// The native first call sends oldCookie with only an Expiration: that
	// counts as no old cookie. A present one must be ours; it may be expired.
	if old := soap.Child(req.Body, "oldCookie"); soap.Text(old, "EncryptedData") != "" {
		prev, err := s.unsealSession(old)
		if err != nil {
			return nil, err
		}
		if prev.ClientID == auth.ClientID && prev.ConfigChanged.Equal(s.info.ConfigChanged) {
			sess.SyncAnchor, sess.AnchorGroups = prev.SyncAnchor, prev.AnchorGroups
			sess.ChangedAfter, sess.ChangedUntil, sess.ChangedKey = prev.ChangedAfter, prev.ChangedUntil, prev.ChangedKey
		}
	}

	lastChange, err := soap.Time(req.Body, "lastChange", "lastChange")
	if err != nil {
		return nil, err
	}
	if !lastChange.Equal(s.info.ConfigChanged) {
		return nil, soap.Errorf(soap.ConfigChanged, "")
	}
	pv := soap.Text(req.Body, "protocolVersion")
	if _, _, ok := parseProtocol(pv); !ok {
		return nil, soap.BadParameter("protocolVersion")
	}
	sess.ProtocolVersion = pv

	resp := req.NewResponse()
	if err := s.addCookie(&soap.Tree{El: resp}, "GetCookieResult", sess); err != nil {
		return nil, err
	}
	return resp, nil
}

// registerComputer stores the ComputerInfo and marks the client registered.
func (s *Services) registerComputer(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	sess, err := s.openSession(soap.Child(req.Body, "cookie"))
	if err != nil {
		return nil, err
	}
	info := soap.Child(req.Body, "computerInfo")
	if info == nil {
		return nil, soap.BadParameter("computerInfo")
	}
	c := catalog.Computer{
		ID:            sess.ClientID,
		DNSName:       soap.Text(info, "DnsName"),
		Registered:    true,
		OSDescription: soap.Text(info, "OSDescription"),
		OSLocale:      soap.Text(info, "OSLocale"),
		Architecture:  soap.Text(info, "ProcessorArchitecture"),
		Manufacturer:  soap.Text(info, "ComputerManufacturer"),
		Model:         soap.Text(info, "ComputerModel"),
		FirstSeen:     s.now().UTC(),
	}
	ints := []struct {
		name string
		dst  *int
	}{
		{"OSMajorVersion", &c.OSMajor}, {"OSMinorVersion", &c.OSMinor}, {"OSBuildNumber", &c.OSBuild},
	}
	for _, f := range ints {
		if *f.dst, err = soap.Int(info, f.name, "computerInfo."+f.name); err != nil {
			return nil, err
		}
	}
	var version []string
	for _, name := range []string{"ClientVersionMajorNumber", "ClientVersionMinorNumber", "ClientVersionBuildNumber", "ClientVersionQfeNumber"} {
		version = append(version, soap.Text(info, name))
	}
	c.ClientVersion = strings.Join(version, ".")
	if c.DNSName == "" {
		return nil, soap.BadParameter("computerInfo.DnsName")
	}
	if err := s.cfg.Store.RegisterComputer(ctx, c); err != nil {
		return nil, fmt.Errorf("wusp: register computer: %w", err)
	}
	s.registered.Add(c.ID, struct{}{})
	return req.NewResponse(), nil
}
