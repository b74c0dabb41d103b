package wsusss_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"wsus/sync/wsusss"
)

// FuzzParseResponses feeds every response parser the same bytes, seeded with
// the recorded answers and faults. The invariant: each parser returns a
// result or an error, never both nor neither, and never panics; every error
// is a *Fault or wraps ErrMalformed; a parsed GetUpdateData answer holds a
// non-empty document for every update and a digest for every file URL; a
// parsed GetConfigData a positive MaxNumberOfUpdatesPerRequest.
func FuzzParseResponses(f *testing.F) {
	names, err := filepath.Glob(filepath.Join("testdata", "*.xml"))
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		base := filepath.Base(n)
		if strings.HasPrefix(base, "update-") || strings.HasPrefix(base, "leaf-") {
			continue // documents, not answers
		}
		f.Add(sample(f, base))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		check := func(op string, ok bool, err error) {
			t.Helper()
			if (err == nil) != ok {
				t.Fatalf("%s: result present %v with error %v", op, ok, err)
			}
			var fault *wsusss.Fault
			if err != nil && !errors.As(err, &fault) && !errors.Is(err, wsusss.ErrMalformed) {
				t.Fatalf("%s: error %v is neither a *Fault nor ErrMalformed", op, err)
			}
		}
		ac, err := wsusss.ParseGetAuthConfigResponse(body)
		check("GetAuthConfig", ac != nil && len(ac.AuthInfo) > 0, err)
		_, err = wsusss.ParseGetAuthorizationCookieResponse(body)
		check("GetAuthorizationCookie", err == nil, err)
		_, err = wsusss.ParseGetCookieResponse(body)
		check("GetCookie", err == nil, err)
		cd, err := wsusss.ParseGetConfigDataResponse(body)
		check("GetConfigData", cd != nil && cd.MaxNumberOfUpdatesPerRequest > 0, err)
		rl, err := wsusss.ParseGetRevisionIdListResponse(body)
		check("GetRevisionIdList", rl != nil && rl.Anchor != "", err)
		ud, err := wsusss.ParseGetUpdateDataResponse(body)
		check("GetUpdateData", ud != nil, err)
		if ud != nil {
			for _, u := range ud.Updates {
				if len(u.XML) == 0 {
					t.Fatalf("update %+v without document", u.ID)
				}
			}
			for _, fu := range ud.FileURLs {
				if len(fu.Digest) == 0 {
					t.Fatalf("file URL %+v without digest", fu)
				}
			}
		}
		_, err = wsusss.ParseGetUpdateDecryptionDataResponse(body)
		check("GetUpdateDecryptionData", err == nil, err)
	})
}
