package wusp

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/beevik/etree"

	"wsus/catalog"
	"wsus/internal/reqinfo"
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
	reqinfo.From(ctx).SetClientID(clientID)
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
func (s *Services) getCookie(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	auths := soap.Children(soap.Child(req.Body, "authCookies"), "AuthorizationCookie")
	if len(auths) != 1 {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	raw, err := base64.StdEncoding.DecodeString(soap.Text(auths[0], "CookieData"))
	if err != nil {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	auth, err := s.cfg.Sealer.OpenAuth(raw)
	if err != nil {
		// Another replica's key, as for session cookies (unsealData).
		cookie.LogMismatch(ctx, s.cfg.Logger, s.cfg.Sealer, err)
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}
	reqinfo.From(ctx).SetClientID(auth.ClientID)
	now := s.now().UTC()
	if auth.ServerID != s.info.ID || now.After(auth.Expires) {
		return nil, soap.Errorf(soap.InvalidAuthorizationCookie, "")
	}

	sess := cookie.Session{
		ServerID: s.info.ID, ClientID: auth.ClientID, Groups: auth.Groups,
		IssuedAt: now, Expires: now.Add(CookieLifetime), ConfigChanged: s.info.ConfigChanged,
	}
	// The native first call sends oldCookie with only an Expiration: that
	// counts as no old cookie. A present one must be ours; it may be expired.
	if old := soap.Child(req.Body, "oldCookie"); soap.Text(old, "EncryptedData") != "" {
		prev, err := s.unsealSession(ctx, old)
		if err != nil {
			return nil, err
		}
		if prev.ClientID == auth.ClientID && prev.ConfigChanged.Equal(s.info.ConfigChanged) {
			sess.SyncAnchor, sess.AnchorGroups = prev.SyncAnchor, prev.AnchorGroups
			sess.ChangedAfter, sess.ChangedUntil, sess.ChangedKey = prev.ChangedAfter, prev.ChangedUntil, prev.ChangedKey
		}
	}
	// The session is the authorization cookie's client's, whatever the old
	// cookie named (unsealSession recorded that one).
	reqinfo.From(ctx).SetClientID(auth.ClientID)

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

// MaxComputerInfoText is the longest string a computerInfo element may
// hold, in bytes; a longer one gets InvalidParameters. [I] Real values are
// short (the longest in capture scan/000004 is 30 bytes); WSUS's own limit
// was not observed.
const MaxComputerInfoText = 1024

// registerComputer stores the ComputerInfo, whole, and marks the client
// registered. Every element of the WSDL's ComputerInfo is read
// (ClientWebService.wsdl; capture scan/000004 carries them all); a value
// that is not of its WSDL type (int, short, unsignedByte, dateTime), or a
// string longer than MaxComputerInfoText, gets InvalidParameters naming it.
// Absent elements are zero, as in the existing fields.
func (s *Services) registerComputer(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	sess, err := s.openSession(ctx, soap.Child(req.Body, "cookie"))
	if err != nil {
		return nil, err
	}
	el := soap.Child(req.Body, "computerInfo")
	if el == nil {
		return nil, soap.BadParameter("computerInfo")
	}
	info, err := decodeComputerInfo(el)
	if err != nil {
		return nil, err
	}
	if info.DnsName == "" {
		return nil, soap.BadParameter("computerInfo.DnsName")
	}
	c := catalog.Computer{
		ID:            sess.ClientID,
		DNSName:       info.DnsName,
		Registered:    true,
		OSMajor:       info.OSMajorVersion,
		OSMinor:       info.OSMinorVersion,
		OSBuild:       info.OSBuildNumber,
		OSDescription: info.OSDescription,
		OSLocale:      info.OSLocale,
		Architecture:  info.ProcessorArchitecture,
		Manufacturer:  info.ComputerManufacturer,
		Model:         info.ComputerModel,
		// Kept as the text sent, as before ComputerInfo was kept whole.
		ClientVersion: strings.Join([]string{
			soap.Text(el, "ClientVersionMajorNumber"), soap.Text(el, "ClientVersionMinorNumber"),
			soap.Text(el, "ClientVersionBuildNumber"), soap.Text(el, "ClientVersionQfeNumber"),
		}, "."),
		FirstSeen: s.now().UTC(),
		Info:      info,
	}
	if err := s.cfg.Store.RegisterComputer(ctx, c); err != nil {
		return nil, fmt.Errorf("wusp: register computer: %w", err)
	}
	s.registered.Add(c.ID, struct{}{})
	return req.NewResponse(), nil
}

// decodeComputerInfo reads every element of a ComputerInfo.
func decodeComputerInfo(el *etree.Element) (*catalog.ComputerInfo, error) {
	var info catalog.ComputerInfo
	strs := []struct {
		name string
		dst  *string
	}{
		{"DnsName", &info.DnsName}, {"OSLocale", &info.OSLocale},
		{"ComputerManufacturer", &info.ComputerManufacturer}, {"ComputerModel", &info.ComputerModel},
		{"BiosVersion", &info.BiosVersion}, {"BiosName", &info.BiosName},
		{"ProcessorArchitecture", &info.ProcessorArchitecture}, {"OSDescription", &info.OSDescription},
		{"OEM", &info.OEM}, {"DeviceType", &info.DeviceType}, {"FirmwareVersion", &info.FirmwareVersion},
		{"MobileOperator", &info.MobileOperator},
	}
	for _, f := range strs {
		*f.dst = soap.Text(el, f.name)
		if len(*f.dst) > MaxComputerInfoText || !validText(*f.dst) {
			return nil, soap.BadParameter("computerInfo." + f.name)
		}
	}
	// The WSDL's integer types: int, short, unsignedByte.
	const (
		xsInt   = 32
		xsShort = 16
		xsUByte = 0
	)
	ints := []struct {
		name string
		typ  int
		dst  *int
	}{
		{"OSMajorVersion", xsInt, &info.OSMajorVersion}, {"OSMinorVersion", xsInt, &info.OSMinorVersion},
		{"OSBuildNumber", xsInt, &info.OSBuildNumber},
		{"OSServicePackMajorNumber", xsShort, &info.OSServicePackMajorNumber},
		{"OSServicePackMinorNumber", xsShort, &info.OSServicePackMinorNumber},
		{"SuiteMask", xsShort, &info.SuiteMask}, {"OldProductType", xsUByte, &info.OldProductType},
		{"NewProductType", xsInt, &info.NewProductType}, {"SystemMetrics", xsInt, &info.SystemMetrics},
		{"ClientVersionMajorNumber", xsShort, &info.ClientVersionMajorNumber},
		{"ClientVersionMinorNumber", xsShort, &info.ClientVersionMinorNumber},
		{"ClientVersionBuildNumber", xsShort, &info.ClientVersionBuildNumber},
		{"ClientVersionQfeNumber", xsShort, &info.ClientVersionQfeNumber},
	}
	for _, f := range ints {
		path := "computerInfo." + f.name
		v, err := soap.Int(el, f.name, path)
		if err != nil {
			return nil, err
		}
		switch f.typ {
		case xsShort:
			if v < math.MinInt16 || v > math.MaxInt16 {
				return nil, soap.BadParameter(path)
			}
		case xsUByte:
			if v < 0 || v > math.MaxUint8 {
				return nil, soap.BadParameter(path)
			}
		}
		*f.dst = v
	}
	date, err := soap.Time(el, "BiosReleaseDate", "computerInfo.BiosReleaseDate")
	if err != nil {
		return nil, err
	}
	info.BiosReleaseDate = date.UTC()
	return &info, nil
}

// validText reports whether s can be stored: UTF-8 without NUL (PostgreSQL
// refuses either; an XML parser lets neither through, so this guards the
// contract rather than the wire).
func validText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}
