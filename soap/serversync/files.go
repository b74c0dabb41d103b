package serversync

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"

	"github.com/beevik/etree"

	"wsus/soap"
	"wsus/storage"
	"wsus/sync/wsusss"
)

// downloadFiles answers a DSS whose content download got 404 ([MS-WSUSSS]
// 3.1.4.11): fileDigestList holds 1 to MaxDigestsPerRequest SHA-1 digests
// (InvalidParameters "fileDigestList" otherwise, or for one that is not 20
// bytes of base64 [I]). When every file is stored here the answer is the
// empty DownloadFilesResponse and the DSS downloads again; else the fault
// FileDigestsMissing whose Message is the base64 digests of the files not
// stored, joined by '|' (MS-WSUSSS.md section 2). [I] This server does not
// start a download of its own on this call: the files of approved updates
// are fetched by its own synchronization.
//
// A payload store that cannot say is ServerBusy, so the DSS retries.
func (s *Services) downloadFiles(ctx context.Context, req *soap.Request) (*etree.Element, error) {
	if _, err := s.openSession(ctx, req); err != nil {
		return nil, err
	}
	items := soap.Strings(req.Body, "fileDigestList")
	if len(items) == 0 || len(items) > MaxDigestsPerRequest {
		return nil, soap.BadParameter("fileDigestList")
	}
	var missing []string
	for _, it := range items {
		d, err := base64.StdEncoding.DecodeString(it)
		if err != nil || len(d) != 20 {
			return nil, soap.BadParameter("fileDigestList")
		}
		_, err = s.blobs.Stat(ctx, storage.KeyForSHA1(d))
		switch {
		case errors.Is(err, storage.ErrNotFound):
			missing = append(missing, base64.StdEncoding.EncodeToString(d))
		case err != nil:
			return nil, &soap.Fault{Code: soap.ServerBusy, Message: "content store unavailable", Cause: err}
		}
	}
	if len(missing) > 0 {
		return nil, soap.Errorf(wsusss.FileDigestsMissing, "%s", strings.Join(missing, "|"))
	}
	return req.NewResponse(), nil
}
