package serversync

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/beevik/etree"

	"wsus/catalog"
	"wsus/soap"
)

// revisionsOf returns the positions in x.sums of ids, in their order. An
// identity the catalog does not hold faults the whole call with
// InternalServerError, as the real WSUS does (MS-WSUSSS.md 2.2; [MS-WSUSSS]
// 3.1.4.6 names no fault for it).
func (x *index) revisionsOf(ids []catalog.Identity) ([]int, error) {
	out := make([]int, len(ids))
	for k, id := range ids {
		i, ok := x.byIdentity[id]
		if !ok {
			return nil, soap.Errorf(soap.InternalServerError, "")
		}
		out[k] = i
	}
	return out, nil
}

// documentElement returns doc from its root element on: the XML
// declaration, comments and white space before it are dropped. [I] The
// documents a real WSUS sends start at <upd:Update> (MS-WSUSSS.md 2.3: no
// XML declaration); a declaration naming another encoding than the UTF-8
// text it would travel in would also mislead the DSS's parser.
func documentElement(doc string) string {
	for {
		doc = strings.TrimLeft(doc, " \t\r\n")
		var end string
		switch {
		case strings.HasPrefix(doc, "<?"):
			end = "?>"
		case strings.HasPrefix(doc, "<!--"):
			end = "-->"
		default:
			return doc
		}
		i := strings.Index(doc, end)
		if i < 0 {
			return doc
		}
		doc = doc[i+len(end):]
	}
}

// getUpdateData answers ServerUpdateData for at most MaxUpdatesPerRequest
// identities (more, or none, is InvalidParameters "updateIds", as the real
// WSUS answers 101; MS-WSUSSS.md 2.2), element for element as the real
// answer wsusss-GetUpdateDataResponse-leaf-compressed-with-fileurl.xml:
// updates, one ServerSyncUpdateData per identity in the order asked {Id,
// FileDigestList (the SHA-1 of each file in document order; absent when the
// revision has none), the document}, then fileUrls, one ServerSyncUrlData
// per distinct file {FileDigest, MUUrl when Store.FileSources knows it
// ([MS-WSUSSS] 3.1.4.6.3.5: MUST NOT be present otherwise), an empty
// UssUrl as in the real answer}.
//
// The document travels as XmlUpdateBlob, the stored upd:Update text
// (documentElement). [I] Windows sends XmlUpdateBlobCompressed (an LZX
// cabinet) for documents over 5,120 bytes ([MS-WSUSSS] note <36>); the
// plain form is legal for any size and is what this server sends, so its
// answers are larger than a Windows WSUS's.
//
// The answer is bounded: it may take MaxUpdateDataBytes (InvalidParameters
// "updateIds" past it: fewer identities at once fit), and reserves what it
// holds from the budget shared by the answers being built (ServerBusy when
// exhausted).
func (s *Services) getUpdateData(ctx context.Context, req *soap.Request) (*soap.RawResponse, error) {
	x, positions, err := s.requestedRevisions(ctx, req, MaxUpdatesPerRequest)
	if err != nil {
		return nil, err
	}
	budget := reservationOf(ctx)
	resp := req.NewRawResponse()
	resp.Start("GetUpdateDataResult")
	resp.Start("updates")
	var digests [][]byte
	seen := map[[20]byte]bool{}
	size := int64(0)
	for _, i := range positions {
		rev, err := s.store.Revision(ctx, x.sums[i].ID)
		if errors.Is(err, catalog.ErrNotFound) {
			// Gone since the index was read: as unknown.
			return nil, soap.Errorf(soap.InternalServerError, "")
		}
		if err != nil {
			return nil, fmt.Errorf("serversync: revision %d: %w", x.sums[i].ID, err)
		}
		doc := documentElement(rev.SourceXML)
		if doc == "" {
			// [I] A revision without its document cannot be sent: as an
			// unknown one.
			return nil, soap.Errorf(soap.InternalServerError, "")
		}
		escaped := soap.AppendText(nil, doc)
		// The escaped text, its copy in the answer, and room for the rest.
		n := 2*int64(len(escaped)) + 256 + 64*int64(len(rev.Files))
		if size += n / 2; size > s.maxUpdateData {
			return nil, soap.BadParameter("updateIds")
		}
		if !budget.grow(n) {
			return nil, soap.Errorf(soap.ServerBusy, "answer memory budget exhausted")
		}
		resp.Grow(len(escaped) + 256 + 64*len(rev.Files))
		resp.Start("ServerSyncUpdateData")
		writeIdentity(resp, "Id", rev.Identity)
		if len(rev.Files) > 0 {
			resp.Start("FileDigestList")
			for _, f := range rev.Files {
				resp.Elem("base64Binary", base64.StdEncoding.EncodeToString(f.SHA1))
				if len(f.SHA1) == 20 && !seen[[20]byte(f.SHA1)] {
					seen[[20]byte(f.SHA1)] = true
					digests = append(digests, f.SHA1)
				}
			}
			resp.End("FileDigestList")
		}
		resp.EscapedElem("XmlUpdateBlob", escaped)
		resp.End("ServerSyncUpdateData")
	}
	resp.End("updates")
	sources, err := s.fileSources(ctx, digests)
	if err != nil {
		return nil, err
	}
	resp.Start("fileUrls")
	for _, d := range digests {
		resp.Start("ServerSyncUrlData")
		resp.Elem("FileDigest", base64.StdEncoding.EncodeToString(d))
		if u := sources[[20]byte(d)].MUURL; u != "" {
			resp.Elem("MUUrl", u)
		}
		resp.Elem("UssUrl", "")
		resp.End("ServerSyncUrlData")
	}
	resp.End("fileUrls")
	resp.End("GetUpdateDataResult")
	return resp, nil
}

// fileSources returns what the store knows of where digests come from.
func (s *Services) fileSources(ctx context.Context, digests [][]byte) (map[[20]byte]catalog.FileSource, error) {
	if len(digests) == 0 {
		return nil, nil
	}
	sources, err := s.store.FileSources(ctx, digests)
	if err != nil {
		return nil, fmt.Errorf("serversync: file sources: %w", err)
	}
	return sources, nil
}

// getUpdateDecryptionData answers ServerDecryptionData for at most
// MaxDecryptionUpdatesPerRequest identities ([MS-WSUSSS] 3.1.4.18;
// InvalidParameters "updateIds" beyond, or for none; an unknown identity is
// InternalServerError as in GetUpdateData [I]): per identity a
// ServerSyncUpdateFileDecryption {UpdateId, FileDecryptionData}, with one
// ServerSyncFileDecryption {FileDigest, DecryptionKey} per file of the
// revision, the key as Store.FileSources has it (an upstream's
// FileDecryptionData) and absent when unknown (the spec says it MAY be
// null).
//
// [I] No example of this answer exists (sync/wsusss says the same of its
// parser): the item element names are the WSDL type names as
// github.com/CaddyGlow/wsus-rs (crates/wsus-protocol, commit 1e4c8059)
// spells them.
func (s *Services) getUpdateDecryptionData(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	x, positions, err := s.requestedRevisions(ctx, req, MaxDecryptionUpdatesPerRequest)
	if err != nil {
		return nil, err
	}
	revIDs := make([]int32, len(positions))
	for k, i := range positions {
		revIDs[k] = x.sums[i].ID
	}
	files, err := s.store.Files(ctx, revIDs)
	if err != nil {
		return nil, fmt.Errorf("serversync: files: %w", err)
	}
	var digests [][]byte
	for _, id := range revIDs {
		for _, f := range files[id] {
			if len(f.SHA1) == 20 {
				digests = append(digests, f.SHA1)
			}
		}
	}
	sources, err := s.fileSources(ctx, digests)
	if err != nil {
		return nil, err
	}
	resp := req.NewResponse()
	w := &soap.Tree{El: resp}
	w.Start("GetUpdateDecryptionDataResult")
	w.Start("UpdateFileDecryptionData")
	for k, i := range positions {
		w.Start("ServerSyncUpdateFileDecryption")
		writeIdentity(w, "UpdateId", x.sums[i].Identity)
		w.Start("FileDecryptionData")
		for _, f := range files[revIDs[k]] {
			w.Start("ServerSyncFileDecryption")
			w.Elem("FileDigest", base64.StdEncoding.EncodeToString(f.SHA1))
			if len(f.SHA1) == 20 {
				if key := sources[[20]byte(f.SHA1)].DecryptionKey; len(key) > 0 {
					w.Elem("DecryptionKey", base64.StdEncoding.EncodeToString(key))
				}
			}
			w.End("ServerSyncFileDecryption")
		}
		w.End("FileDecryptionData")
		w.End("ServerSyncUpdateFileDecryption")
	}
	w.End("UpdateFileDecryptionData")
	w.End("GetUpdateDecryptionDataResult")
	return resp, nil
}

// requestedRevisions checks a request's cookie and reads its updateIds (at
// most max), returning the catalog index and the positions in it of the
// revisions asked for (an unknown one is InternalServerError, as a real
// WSUS answers).
func (s *Services) requestedRevisions(ctx context.Context, req *soap.Request, max int) (*index, []int, error) {
	if _, err := s.openSession(ctx, req); err != nil {
		return nil, nil, err
	}
	ids, err := identities(req.Body, "updateIds", max)
	if err != nil {
		return nil, nil, err
	}
	x, err := s.snapshot(ctx)
	if err != nil {
		return nil, nil, err
	}
	positions, err := x.revisionsOf(ids)
	if err != nil {
		return nil, nil, err
	}
	return x, positions, nil
}
