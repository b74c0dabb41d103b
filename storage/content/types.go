package content

import "strings"

// The Content-Type of a content file follows its extension, as IIS's
// static file handler chooses it from the server's MIME map
// (system.webServer/staticContent). Sources, per value:
//
//   - IIS 10's default MIME map (the staticContent section of a stock
//     applicationHost.config): .cab and .esd
//     application/vnd.ms-cab-compressed; .exe, .msi, .bin, .inf
//     application/octet-stream; .dll application/x-msdownload; .cat
//     application/vnd.ms-pki.seccat; .xml text/xml; .txt text/plain; .zip
//     application/x-zip-compressed; .json application/json; .manifest
//     application/x-ms-manifest. The captures confirm .exe
//     (content-headers/*/response.headers: application/octet-stream).
//   - What WSUS adds for UUP (Windows Server 2016-2022 from the 2023-02
//     cumulative update, "Plan your WSUS deployment", UUP considerations:
//     the server-level MIME types .wim application/x-ms-wim and .msu
//     application/octet-stream).
//   - Every other extension (.psf, .msp, .appx, .msix, .appxbundle, ...):
//     application/octet-stream. [I] IIS answers 404.3 for an extension its
//     MIME map lacks; WSUS servers serve express files (.psf) and .msp
//     with application/octet-stream (the types admins of WSUS on IIS 6 were
//     told to add), and a WSUS server that answers 404 for a file it lists
//     is a broken one, so no extension is refused here.
//
// The match ignores case, as IIS's does.
var contentTypes = map[string]string{
	"bin":      "application/octet-stream",
	"cab":      "application/vnd.ms-cab-compressed",
	"cat":      "application/vnd.ms-pki.seccat",
	"dll":      "application/x-msdownload",
	"esd":      "application/vnd.ms-cab-compressed",
	"exe":      "application/octet-stream",
	"inf":      "application/octet-stream",
	"json":     "application/json",
	"manifest": "application/x-ms-manifest",
	"msi":      "application/octet-stream",
	"msu":      "application/octet-stream",
	"txt":      "text/plain",
	"wim":      "application/x-ms-wim",
	"xml":      "text/xml",
	"zip":      "application/x-zip-compressed",
}

// defaultContentType is the type of every extension contentTypes lacks.
const defaultContentType = "application/octet-stream"

// ContentType returns the Content-Type the handler sends for a content
// file with that extension (without the dot, any case).
func ContentType(ext string) string {
	if t, ok := contentTypes[strings.ToLower(ext)]; ok {
		return t
	}
	return defaultContentType
}
