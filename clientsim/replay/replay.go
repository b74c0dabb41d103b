package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/beevik/etree"
)

// Exchange is one recorded HTTP exchange of a capture folder
// (NNNNNN/{meta.json,request.headers,request.body,response.body}).
type Exchange struct {
	Name       string // folder name, e.g. "000006"
	Method     string // from meta.json
	Path       string // request path, e.g. /ClientWebService/client.asmx
	SOAPAction string // quoted, as sent
	Status     int    // recorded HTTP status
	UserAgent  string // from request.headers; empty when not recorded
	Request    []byte // request.body; nil when not recorded
	Response   []byte // response.body; nil when not recorded
}

// Operation is the SOAP operation named by the SOAPAction ("SyncUpdates"),
// or the method and path of a non-SOAP exchange.
func (x Exchange) Operation() string {
	a := strings.Trim(x.SOAPAction, `"`)
	if a == "" {
		return x.Method + " " + x.Path
	}
	return a[strings.LastIndex(a, "/")+1:]
}

// meta is the part of meta.json replay uses.
type meta struct {
	Method     string `json:"method"`
	Path       string `json:"path"`
	SOAPAction string `json:"soap_action"`
	Status     int    `json:"status"`
}

// Load reads the exchange folders (names of digits only) of dir in name order.
func Load(dir string) ([]Exchange, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	var out []Exchange
	for _, e := range entries {
		if !e.IsDir() || strings.Trim(e.Name(), "0123456789") != "" {
			continue
		}
		x, err := loadExchange(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, fmt.Errorf("replay: exchange %s: %w", e.Name(), err)
		}
		x.Name = e.Name()
		out = append(out, x)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("replay: %s holds no exchange folders (NNNNNN/meta.json)", dir)
	}
	slices.SortFunc(out, func(a, b Exchange) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func loadExchange(dir string) (Exchange, error) {
	var x Exchange
	raw, err := os.ReadFile(filepath.Join(dir, "meta.json"))
	if err != nil {
		return x, err
	}
	var m meta
	if err := json.Unmarshal(raw, &m); err != nil {
		return x, fmt.Errorf("meta.json: %w", err)
	}
	if m.Method == "" || m.Path == "" || m.Status == 0 {
		return x, errors.New("meta.json lacks method, path or status")
	}
	x.Method, x.Path, x.SOAPAction, x.Status = m.Method, m.Path, m.SOAPAction, m.Status
	if x.Request, err = readOptional(filepath.Join(dir, "request.body")); err != nil {
		return x, err
	}
	if x.Response, err = readOptional(filepath.Join(dir, "response.body")); err != nil {
		return x, err
	}
	hdr, err := readOptional(filepath.Join(dir, "request.headers"))
	if err != nil {
		return x, err
	}
	sc := bufio.NewScanner(bytes.NewReader(hdr))
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.EqualFold(k, "User-Agent") {
			x.UserAgent = strings.TrimSpace(v)
		}
	}
	return x, nil
}

func readOptional(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Config configures a replay.
type Config struct {
	// ServerURL is the base URL of the server under test.
	ServerURL string
	// HTTPClient sends the requests; nil means one without transparent
	// compression (no Accept-Encoding header).
	HTTPClient *http.Client
	// Logger receives debug logs; nil discards them.
	Logger *slog.Logger
}

// Result is the outcome of replaying one exchange.
type Result struct {
	Exchange    string // folder name
	Operation   string
	Skipped     string // why the exchange was not replayed; empty when it was
	Status      int    // HTTP status of the server under test
	Differences []Difference
}

// Equal reports whether the exchange was replayed without differences.
func (r Result) Equal() bool { return r.Skipped == "" && len(r.Differences) == 0 }

// Run replays the exchanges in order against cfg.ServerURL and compares each
// answer with the recorded one. It rewrites cookies and revision ids as the
// package documentation describes. It fails only when the server cannot be
// reached; differences are reported in the results.
func Run(ctx context.Context, cfg Config, exchanges []Exchange) ([]Result, error) {
	base, err := url.Parse(strings.TrimSuffix(cfg.ServerURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("replay: server URL %q is not an http(s) URL", cfg.ServerURL)
	}
	if cfg.HTTPClient == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.DisableCompression = true
		cfg.HTTPClient = &http.Client{Transport: t}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	st := &state{revisions: map[int]int{}}
	var results []Result
	for _, x := range exchanges {
		r := Result{Exchange: x.Name, Operation: x.Operation()}
		if x.Method != http.MethodPost || x.Request == nil || x.Response == nil {
			r.Skipped = "not a recorded SOAP exchange"
			results = append(results, r)
			continue
		}
		body, err := st.rewrite(x.Request)
		if err != nil {
			return results, fmt.Errorf("replay: exchange %s: %w", x.Name, err)
		}
		status, answer, err := post(ctx, cfg.HTTPClient, base.String()+x.Path, x, body)
		if err != nil {
			return results, fmt.Errorf("replay: exchange %s %s: %w", x.Name, r.Operation, err)
		}
		cfg.Logger.Debug("replayed", "exchange", x.Name, "op", r.Operation, "status", status, "bytes", len(answer))
		r.Status = status
		st.learn(x.Response, answer)
		if status/100 != x.Status/100 {
			r.Differences = append(r.Differences, Difference{"HTTP", fmt.Sprintf("expected status %d, got %d", x.Status, status)})
		}
		r.Differences = append(r.Differences, Comparer{RevisionIDs: st.revisions}.Compare(x.Response, answer)...)
		results = append(results, r)
	}
	return results, nil
}

func post(ctx context.Context, client *http.Client, target string, x Exchange, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Cache-Control", "no-cache")
	req.Header.Set("Pragma", "no-cache")
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if x.UserAgent != "" {
		req.Header.Set("User-Agent", x.UserAgent)
	}
	if x.SOAPAction != "" {
		req.Header.Set("SOAPAction", x.SOAPAction)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return 0, nil, fmt.Errorf("read response: %w", err)
	}
	return resp.StatusCode, answer, nil
}

// state carries what a replay learns from the server under test.
type state struct {
	authCookieData string // CookieData of the last GetAuthorizationCookie answer
	cookieExp      string // newest session cookie (GetCookieResult / NewCookie)
	cookieData     string
	lastChange     string      // Config LastChange of the last GetConfig answer
	revisions      map[int]int // recorded revision id -> actual
}

// rewrite adapts a recorded request to the server under test: the auth
// cookie and lastChange of GetCookie (a real client sends back the
// LastChange its server's GetConfig gave), every cookie/oldCookie that
// carries EncryptedData, and revision ids in id lists. An unchanged request is sent byte for byte.
func (s *state) rewrite(req []byte) ([]byte, error) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(req); err != nil {
		return nil, fmt.Errorf("recorded request is not XML: %w", err)
	}
	changed := false
	set := func(e *etree.Element, v string) {
		if e != nil && v != "" && e.Text() != v {
			e.SetText(v)
			changed = true
		}
	}
	for _, e := range descendants(doc.Root()) {
		switch {
		case e.Tag == "AuthorizationCookie":
			set(e.SelectElement("CookieData"), s.authCookieData)
		case e.Tag == "lastChange" && e.Parent() != nil && e.Parent().Tag == "GetCookie":
			set(e, s.lastChange)
		case (e.Tag == "cookie" || e.Tag == "oldCookie") && e.SelectElement("EncryptedData") != nil && s.cookieData != "":
			set(e.SelectElement("Expiration"), s.cookieExp)
			set(e.SelectElement("EncryptedData"), s.cookieData)
		case e.Tag == "int" && e.Parent() != nil && revisionLists[e.Parent().Tag]:
			if rec, err := strconv.Atoi(strings.TrimSpace(e.Text())); err == nil {
				if got, ok := s.revisions[rec]; ok {
					set(e, strconv.Itoa(got))
				}
			}
		}
	}
	if !changed {
		return req, nil
	}
	doc.WriteSettings.CanonicalText = true
	doc.WriteSettings.CanonicalAttrVal = true
	return doc.WriteToBytes()
}

// learn records the cookies the server issued and pairs recorded and actual
// revision ids by UpdateID.
func (s *state) learn(recorded, actual []byte) {
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(actual); err != nil || doc.Root() == nil {
		return
	}
	for _, e := range descendants(doc.Root()) {
		switch e.Tag {
		case "GetConfigResult":
			if v := childText(e, "LastChange"); v != "" {
				s.lastChange = v
			}
		case "GetAuthorizationCookieResult":
			if v := childText(e, "CookieData"); v != "" {
				s.authCookieData = v
			}
		case "GetCookieResult", "NewCookie":
			if v := childText(e, "EncryptedData"); v != "" {
				s.cookieExp, s.cookieData = childText(e, "Expiration"), v
			}
		}
	}
	rec := revisionsByUpdateID(recorded)
	for uid, id := range revisionsByUpdateID(actual) {
		if r, ok := rec[uid]; ok {
			s.revisions[r] = id
		}
	}
}

// revisionsByUpdateID maps lower-case UpdateID -> revision id for every
// UpdateInfo (ID + Core Xml) and RefreshCacheResult (RevisionID + GlobalID) of a body.
func revisionsByUpdateID(body []byte) map[string]int {
	out := map[string]int{}
	doc := etree.NewDocument()
	if err := doc.ReadFromBytes(body); err != nil || doc.Root() == nil {
		return out
	}
	for _, e := range descendants(doc.Root()) {
		var idText, uid string
		switch e.Tag {
		case "UpdateInfo":
			idText = childText(e, "ID")
			frag := etree.NewDocument()
			if frag.ReadFromString(childText(e, "Xml")) == nil {
				if ui := frag.SelectElement("UpdateIdentity"); ui != nil {
					uid = ui.SelectAttrValue("UpdateID", "")
				}
			}
		case "RefreshCacheResult":
			idText = childText(e, "RevisionID")
			if g := e.SelectElement("GlobalID"); g != nil {
				uid = childText(g, "UpdateID")
			}
		default:
			continue
		}
		if id, err := strconv.Atoi(strings.TrimSpace(idText)); err == nil && uid != "" {
			out[strings.ToLower(uid)] = id
		}
	}
	return out
}

func descendants(e *etree.Element) []*etree.Element {
	if e == nil {
		return nil
	}
	return append([]*etree.Element{e}, e.FindElements(".//*")...)
}

func childText(e *etree.Element, tag string) string {
	if c := e.SelectElement(tag); c != nil {
		return c.Text()
	}
	return ""
}

// Format returns the report line of r, e.g. "000006 SyncUpdates equal" or
// "000007 SyncUpdates DIFFERS: <first difference> (and 2 more)", ending in a
// newline. With all, every further difference follows on its own indented line.
func (r Result) Format(all bool) string {
	switch {
	case r.Skipped != "":
		return fmt.Sprintf("%s %s skipped: %s\n", r.Exchange, r.Operation, r.Skipped)
	case r.Equal():
		return fmt.Sprintf("%s %s equal\n", r.Exchange, r.Operation)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s DIFFERS: %s", r.Exchange, r.Operation, r.Differences[0])
	if n := len(r.Differences) - 1; n > 0 && !all {
		fmt.Fprintf(&b, " (and %d more)", n)
	}
	b.WriteString("\n")
	if all {
		for _, d := range r.Differences[1:] {
			fmt.Fprintf(&b, "    %s\n", d)
		}
	}
	return b.String()
}

// Report writes the line of every result (see Result.Format) and a total line:
//
//	000006 SyncUpdates equal
//	000007 SyncUpdates DIFFERS: /Envelope/Body/...: expected element X, got Y (and 2 more)
//	replay: 10 exchanges, 9 equal, 1 differ
//
// It returns the number of exchanges that differ.
func Report(w io.Writer, results []Result, all bool) (int, error) {
	var b strings.Builder
	equal, differ, skipped := 0, 0, 0
	for _, r := range results {
		switch {
		case r.Skipped != "":
			skipped++
		case r.Equal():
			equal++
		default:
			differ++
		}
		b.WriteString(r.Format(all))
	}
	fmt.Fprintf(&b, "replay: %d exchanges, %d equal, %d differ", len(results), equal, differ)
	if skipped > 0 {
		fmt.Fprintf(&b, ", %d skipped", skipped)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return differ, err
}
