package wusp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"

	"wsus/catalog"
	"wsus/soap"
)

// fragmentRequest is what GetExtendedUpdateInfo(2) asks for.
type fragmentRequest struct {
	ids       []int32
	types     []string
	languages []string
	// decryption: the answer carries FileDecryptionData (see
	// wantsDecryption); only GetExtendedUpdateInfo2 sets it, the
	// ExtendedUpdateInfo of GetExtendedUpdateInfo has no such element
	// (ClientWebService.wsdl).
	decryption bool
}

// wantsFiles reports whether the answer carries FileLocations: real WSUS
// returns them with the Extended info type; FileUrl asks for them alone
// (MS-WUSP.md section 6.1).
func (f fragmentRequest) wantsFiles() bool {
	return slices.Contains(f.types, "Extended") || slices.Contains(f.types, "FileUrl")
}

// wantsDecryption reports whether infoTypes holds FileDecryption
// (XmlUpdateFragmentType, MS-WUSP.md section 2.2). [I] It asks for
// FileDecryptionData alone, as FileUrl asks for FileLocations alone: no
// capture has a request or an answer with it.
func (f fragmentRequest) wantsDecryption() bool {
	return slices.Contains(f.types, "FileDecryption")
}

// decodeFragmentRequest reads infoTypes and locales. The languages looked up
// are the requested locales (lower-cased, as metadata spells them) plus
// "en", which the service always returns (MS-WUSP.md section 6.1).
func decodeFragmentRequest(body *etree.Element) (fragmentRequest, error) {
	var f fragmentRequest
	f.types = soap.Strings(body, "infoTypes")
	if len(f.types) == 0 {
		return f, soap.BadParameter("infoTypes")
	}
	seen := map[string]bool{}
	for _, l := range soap.Strings(body, "locales") {
		if l = strings.ToLower(l); l != "" && !seen[l] {
			seen[l] = true
			f.languages = append(f.languages, l)
		}
	}
	if !seen["en"] {
		f.languages = append(f.languages, "en")
	}
	return f, nil
}

// getExtendedUpdateInfo returns fragments and file locations for revisions
// deployed to the client; requested revisions not deployed to it are listed
// in OutOfScopeRevisionIDs.
func (s *Services) getExtendedUpdateInfo(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	sess, err := s.openSession(ctx, soap.Child(req.Body, "cookie"))
	if err != nil {
		return nil, err
	}
	ids, err := soap.Ints(req.Body, "revisionIDs", "revisionIDs")
	if err != nil {
		return nil, err
	}
	if len(ids) == 0 || len(ids) > MaxExtendedUpdatesPerRequest {
		return nil, soap.BadParameter("revisionIDs")
	}
	freq, err := decodeFragmentRequest(req.Body)
	if err != nil {
		return nil, err
	}
	_, scope, err := s.clientScope(ctx, sess)
	if err != nil {
		return nil, err
	}
	var outOfScope []int32
	for _, id := range ids {
		if _, ok := scope.Lookup(id); ok {
			freq.ids = append(freq.ids, id)
		} else {
			outOfScope = append(outOfScope, id)
		}
	}
	resp := req.NewResponse()
	result := resp.CreateElement("GetExtendedUpdateInfoResult")
	if err := s.writeExtended(ctx, req, result, freq); err != nil {
		return nil, err
	}
	soap.IntArray(result, "OutOfScopeRevisionIDs", outOfScope)
	return resp, nil
}

// getExtendedUpdateInfo2 is GetExtendedUpdateInfo keyed by update identity.
// Identities not deployed to the client are left out (the response has no
// out-of-scope list). When infoTypes holds FileDecryption, FileDecryptionData
// follows FileLocations (ExtendedUpdateInfo2 in ClientWebService.wsdl) with
// the decryption keys an upstream gave in MS-WSUSSS GetUpdateDecryptionData
// (see writeFileDecryption). FileDecryptionData2 and UpdateEncryptionDetails
// are never sent: this server stores nothing they would carry.
func (s *Services) getExtendedUpdateInfo2(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	sess, err := s.openSession(ctx, soap.Child(req.Body, "cookie"))
	if err != nil {
		return nil, err
	}
	idents, err := decodeIdentities(soap.Child(req.Body, "updateIDs"), "updateIDs")
	if err != nil {
		return nil, err
	}
	if len(idents) == 0 || len(idents) > MaxExtendedUpdatesPerRequest {
		return nil, soap.BadParameter("updateIDs")
	}
	freq, err := decodeFragmentRequest(req.Body)
	if err != nil {
		return nil, err
	}
	freq.decryption = freq.wantsDecryption()
	snap, scope, err := s.clientScope(ctx, sess)
	if err != nil {
		return nil, err
	}
	for _, ident := range idents {
		if r, ok := snap.ByIdentity(ident); ok {
			if _, deployed := scope.Lookup(r.ID); deployed {
				freq.ids = append(freq.ids, r.ID)
			}
		}
	}
	resp := req.NewResponse()
	result := resp.CreateElement("GetExtendedUpdateInfo2Result")
	if err := s.writeExtended(ctx, req, result, freq); err != nil {
		return nil, err
	}
	return resp, nil
}

// fragmentTypes maps infoTypes the server stores fragments for.
var fragmentTypes = map[string]catalog.FragmentType{
	"Core":                catalog.FragmentCore,
	"Extended":            catalog.FragmentExtended,
	"LocalizedProperties": catalog.FragmentLocalizedProperties,
	"Eula":                catalog.FragmentEula,
}

// writeExtended writes Updates (all fragments of the first requested type,
// then of the next, as observed), FileLocations and, when freq.decryption,
// FileDecryptionData.
func (s *Services) writeExtended(ctx context.Context, req *soap.Request, result *etree.Element, freq fragmentRequest) error {
	if len(freq.ids) == 0 {
		return nil
	}
	order := make(map[int32]int, len(freq.ids))
	for i, id := range freq.ids {
		order[id] = i
	}
	var updates *etree.Element
	for _, t := range freq.types {
		ft, ok := fragmentTypes[t]
		if !ok {
			continue
		}
		frags, err := s.cfg.Store.Fragments(ctx, freq.ids, ft, freq.languages)
		if err != nil {
			return fmt.Errorf("wusp: %s fragments: %w", t, err)
		}
		slices.SortStableFunc(frags, func(a, b catalog.Fragment) int {
			if d := order[a.RevisionID] - order[b.RevisionID]; d != 0 {
				return d
			}
			return slices.Index(freq.languages, a.Language) - slices.Index(freq.languages, b.Language)
		})
		for _, f := range frags {
			if updates == nil {
				updates = result.CreateElement("Updates")
			}
			u := updates.CreateElement("Update")
			soap.Elem(u, "ID", strconv.Itoa(int(f.RevisionID)))
			soap.Elem(u, "Xml", f.XML)
		}
	}
	if !freq.wantsFiles() && !freq.decryption {
		return nil
	}
	byRevision, err := s.cfg.Store.Files(ctx, freq.ids)
	if err != nil {
		return fmt.Errorf("wusp: files: %w", err)
	}
	files := distinctFiles(freq.ids, byRevision)
	if freq.wantsFiles() {
		base := s.contentBase(req.HTTP)
		var locs *etree.Element
		for _, f := range files {
			if locs == nil {
				locs = result.CreateElement("FileLocations")
			}
			if err := s.addFileLocation(ctx, locs, base, f); err != nil {
				return err
			}
		}
	}
	if !freq.decryption {
		return nil
	}
	return s.writeFileDecryption(ctx, result, files)
}

// distinctFiles returns the files of ids in the order FileLocations lists
// them: by revision in request order, each in document order, a digest
// listed before left out.
func distinctFiles(ids []int32, byRevision map[int32][]catalog.File) []catalog.File {
	var out []catalog.File
	var seen [][]byte
	for _, id := range ids {
		for _, f := range byRevision[id] {
			if slices.ContainsFunc(seen, func(d []byte) bool { return bytes.Equal(d, f.SHA1) }) {
				continue
			}
			seen = append(seen, f.SHA1)
			out = append(out, f)
		}
	}
	return out
}

// fileDecryption is one FileDecryption of a GetExtendedUpdateInfo2 answer.
type fileDecryption struct {
	digest, key []byte
}

// fileDecryptions picks, in the order of files, those whose source has a
// decryption key.
func fileDecryptions(files []catalog.File, sources map[[20]byte]catalog.FileSource) []fileDecryption {
	var out []fileDecryption
	for _, f := range files {
		if len(f.SHA1) != 20 {
			continue
		}
		if key := sources[[20]byte(f.SHA1)].DecryptionKey; len(key) > 0 {
			out = append(out, fileDecryption{digest: f.SHA1, key: key})
		}
	}
	return out
}

// writeFileDecryption writes FileDecryptionData: one FileDecryption
// {FileDigest, DecryptionKey} per file of files whose key the store has
// (catalog.FileSource, as an upstream's MS-WSUSSS GetUpdateDecryptionData
// gave it), in the order of files, which is that of FileLocations. The work
// is one FileSources call for the distinct files of at most
// MaxExtendedUpdatesPerRequest revisions, the files FileLocations lists.
//
// [I] No capture shows this answer (MS-WUSP.md section 2.1: WUA was not seen
// calling GetExtendedUpdateInfo2 against WSUS). The names and their order are
// the WSDL's (ArrayOfFileDecryption of FileDecryption {FileDigest,
// DecryptionKey, SecurityData}); SecurityData is left out, as the server has
// none; a file is listed once however many requested revisions have it, as
// in FileLocations; a file without a key is left out rather than sent without
// DecryptionKey; and with no key at all the element is left out, as real WSUS
// leaves out empty arrays (SyncInfo, MS-WUSP.md section 2.2).
func (s *Services) writeFileDecryption(ctx context.Context, result *etree.Element, files []catalog.File) error {
	digests := make([][]byte, 0, len(files))
	for _, f := range files {
		if len(f.SHA1) == 20 {
			digests = append(digests, f.SHA1)
		}
	}
	if len(digests) == 0 {
		return nil
	}
	sources, err := s.cfg.Store.FileSources(ctx, digests)
	if err != nil {
		return fmt.Errorf("wusp: file sources: %w", err)
	}
	decs := fileDecryptions(files, sources)
	if len(decs) == 0 {
		return nil
	}
	data := result.CreateElement("FileDecryptionData")
	for _, d := range decs {
		fd := data.CreateElement("FileDecryption")
		soap.Elem(fd, "FileDigest", base64.StdEncoding.EncodeToString(d.digest))
		soap.Elem(fd, "DecryptionKey", base64.StdEncoding.EncodeToString(d.key))
	}
	return nil
}

// getFileLocations maps 20-byte SHA-1 digests to content URLs. Like real
// WSUS it answers every digest the catalog knows, whether or not the file
// is deployed to the client (MS-WUSP.md section 6.4).
func (s *Services) getFileLocations(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	sess, err := s.openSession(ctx, soap.Child(req.Body, "cookie"))
	if err != nil {
		return nil, err
	}
	resp := req.NewResponse()
	result := resp.CreateElement("GetFileLocationsResult")
	var locs *etree.Element
	for _, text := range soap.Strings(req.Body, "fileDigests") {
		digest, err := soap.Base64(text, "fileDigests")
		if err != nil {
			return nil, err
		}
		if len(digest) != 20 {
			return nil, soap.BadParameter("fileDigests")
		}
		f, err := s.cfg.Store.FileBySHA1(ctx, digest)
		if errors.Is(err, catalog.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("wusp: file location: %w", err)
		}
		if locs == nil {
			locs = result.CreateElement("FileLocations")
		}
		if err := s.addFileLocation(ctx, locs, s.contentBase(req.HTTP), f); err != nil {
			return nil, err
		}
	}
	if err := s.addCookie(&soap.Tree{El: result}, "NewCookie", sess); err != nil {
		return nil, err
	}
	return resp, nil
}
