package serversync

import (
	"context"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"wsus/soap"
)

// ProtocolVersion is the protocol version this server reports in
// GetConfigData: "1.20", what Windows Server 2025 reports
// (wsusss-GetConfigDataResponse-wsus-upstream.xml) and what this
// repository's sync client sends in GetCookie (upstream.DefaultProtocolVersion;
// a test keeps the two equal, so that the server side does not import the
// client's transport).
const ProtocolVersion = "1.20"

// language is one ServerSyncLanguageData of the language table.
type language struct {
	id          int
	short, long string
}

// languages is the language table of the real WSUS, in its order
// (LanguageUpdateList of wsusss-GetConfigDataResponse-wsus-upstream.xml):
// "all" first, then by LCID.
var languages = []language{
	{0, "all", "all"},
	{1025, "ar", "Arabic"},
	{1026, "bg", "Bulgarian"},
	{1028, "zh-tw", "Chinese (Traditional)"},
	{1029, "cs", "Czech"},
	{1030, "da", "Danish"},
	{1031, "de", "German"},
	{1032, "el", "Greek"},
	{1033, "en", "English"},
	{1034, "es", "Spanish"},
	{1035, "fi", "Finnish"},
	{1036, "fr", "French"},
	{1037, "he", "Hebrew"},
	{1038, "hu", "Hungarian"},
	{1040, "it", "Italian"},
	{1041, "ja", "Japanese"},
	{1042, "ko", "Korean"},
	{1043, "nl", "Dutch"},
	{1044, "no", "Norwegian"},
	{1045, "pl", "Polish"},
	{1046, "pt-br", "Portuguese (Brazil)"},
	{1048, "ro", "Romanian"},
	{1049, "ru", "Russian"},
	{1050, "hr", "Croatian"},
	{1051, "sk", "Slovak"},
	{1053, "sv", "Swedish"},
	{1054, "th", "Thai"},
	{1055, "tr", "Turkish"},
	{1058, "uk", "Ukrainian"},
	{1060, "sl", "Slovenian"},
	{1061, "et", "Estonian"},
	{1062, "lv", "Latvian"},
	{1063, "lt", "Lithuanian"},
	{1081, "hi", "Hindi"},
	{2052, "zh-cn", "Chinese (Simplified)"},
	{2070, "pt", "Portuguese (Portugal)"},
	{2074, "sr", "Serbian (Latin)"},
	{3076, "zh-hk", "Chinese (Hong Kong SAR)"},
	{66577, "ja-nec", "Japanese NEC"},
}

// getConfigData answers ServerSyncConfigData with the fields, order and
// spelling of the real WSUS answer (wsusss-GetConfigDataResponse-wsus-upstream.xml,
// whose Max* fields are in alphabetical order, not the WSDL's):
// CatalogOnlySync false (this server serves /Content/), LazySync true
// (content is fetched for approved updates; catalog.ContentApproved),
// ServerHostsPsfFiles false, no driver sync (the three driver limits 0),
// MaxNumberOfUpdatesPerRequest, NewConfigAnchor, ProtocolVersion,
// LanguageUpdateList and MaxUpdatesPerRequestInGetUpdateDecryptionData.
//
// LanguageUpdateList is the real table with Enabled from
// SyncSettings.Languages: the listed languages, or "all" alone when the
// list is empty (as Microsoft Update's answer enables only "all",
// wsusss-GetConfigDataResponse-microsoft-update.xml). The list holds the
// languages changed since configAnchor ([MS-WSUSSS] 3.1.4.4): the real WSUS
// omits it when called with an anchor (MS-WSUSSS.md section 2); [I] this
// server sends it again when the sync settings were saved after the
// anchor's time. A configAnchor that is not one of this server's anchors
// is InvalidParameters "configAnchor" [I]; one ahead of the change sequence
// is ServerChanged (anchor.fromHere).
func (s *Services) getConfigData(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	if _, err := s.openSession(ctx, req); err != nil {
		return nil, err
	}
	var since *anchor
	if text := soap.Text(req.Body, "configAnchor"); text != "" {
		a, err := parseAnchor(text)
		if err != nil {
			return nil, soap.BadParameter("configAnchor")
		}
		since = &a
	}
	seq, err := s.store.ChangeSequence(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: change sequence: %w", err)
	}
	if err := since.fromHere(seq); err != nil {
		return nil, err
	}
	settings, err := s.store.SyncSettings(ctx)
	if err != nil {
		return nil, fmt.Errorf("serversync: sync settings: %w", err)
	}
	resp := req.NewResponse()
	res := resp.CreateElement("GetConfigDataResult")
	soap.Elem(res, "CatalogOnlySync", "false")
	soap.Elem(res, "LazySync", "true")
	soap.Elem(res, "ServerHostsPsfFiles", "false")
	soap.Elem(res, "MaxNumberOfComputerIdsInRequest", "0")
	soap.Elem(res, "MaxNumberOfDriverSetsPerRequest", "0")
	soap.Elem(res, "MaxNumberOfPnpHardwareIdsInRequest", "0")
	soap.Elem(res, "MaxNumberOfUpdatesPerRequest", fmt.Sprint(MaxUpdatesPerRequest))
	soap.Elem(res, "NewConfigAnchor", anchor{seq: seq, at: s.now()}.String())
	soap.Elem(res, "ProtocolVersion", ProtocolVersion)
	if since == nil || settings.ChangedAt.After(since.at) {
		enabled := map[string]bool{}
		for _, l := range settings.Languages {
			enabled[strings.ToLower(strings.TrimSpace(l))] = true
		}
		list := res.CreateElement("LanguageUpdateList")
		for _, l := range languages {
			on := enabled[l.short]
			if l.short == "all" {
				on = len(enabled) == 0
			}
			d := list.CreateElement("ServerSyncLanguageData")
			soap.Elem(d, "LanguageID", fmt.Sprint(l.id))
			soap.Elem(d, "ShortLanguage", l.short)
			soap.Elem(d, "LongLanguage", l.long)
			soap.Elem(d, "Enabled", soap.BoolText(on))
		}
	}
	soap.Elem(res, "MaxUpdatesPerRequestInGetUpdateDecryptionData", fmt.Sprint(MaxDecryptionUpdatesPerRequest))
	return resp, nil
}
