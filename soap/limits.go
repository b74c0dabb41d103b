package soap

import (
	"bytes"
	"time"

	"github.com/beevik/etree"
)

// Limits bounds one request of an operation. Both numbers are checked
// before the body is parsed, so what a request can make the server allocate
// is known (and reserved from the Admission) before it is allocated.
type Limits struct {
	// MaxBytes is the largest request body accepted.
	MaxBytes int64
	// MaxMarkup is the most '<' and '=' the body may hold together once
	// the ArrayOfInt parameters of a bulk operation were taken out
	// (ExtractIntArrays). Every tag, comment or processing instruction
	// starts with a '<' and every attribute needs a '=', so it bounds the
	// nodes and attributes the parser builds.
	MaxMarkup int
}

// MaxDepth is the deepest element nesting a request may have. The deepest
// real request, a SyncUpdates driver pass, nests 9 levels
// (Envelope/Body/SyncUpdates/parameters/SystemSpec/Devices/Device/
// installedDriver/MatchingID, capture scan/000009); 64 leaves room for
// other SOAP stacks and refuses the nesting bombs that cost a parser stack.
const MaxDepth = 64

// Estimated heap of a parsed tree, measured on etree v1.8.1 (live bytes
// after parsing, rounded up): about 170 bytes per element, 300 with the
// whitespace node beside it, 50 per attribute. treeCost charges more so
// that the garbage a parse leaves behind is covered too.
const (
	costPerMarkup    = 512
	costPerAttribute = 128
)

// treeCost counts the markup of b ('<' and '=') and estimates the heap its
// tree takes: b itself, a node per '<' and an attribute per '='. Both
// counts are upper bounds (a '<' may start an end tag, a '=' may be text),
// so the estimate never falls short of what the parser can build. Linear
// in len(b).
func treeCost(b []byte) (markup int, cost int64) {
	tags := bytes.Count(b, []byte{'<'})
	attrs := bytes.Count(b, []byte{'='})
	return tags + attrs, int64(len(b)) + int64(tags)*costPerMarkup + int64(attrs)*costPerAttribute
}

// ReadDocument parses an XML document from untrusted bytes with the limits
// requests are parsed with (MaxDepth). Callers bound len(b) and its markup
// (see Limits) before calling it.
func ReadDocument(b []byte) (*etree.Document, error) {
	doc := etree.NewDocument()
	doc.ReadSettings.MaxDepth = MaxDepth
	if err := doc.ReadFromBytes(b); err != nil {
		return nil, err
	}
	return doc, nil
}

// Transfer timeouts of a request and its answer: a grace period plus the
// time the bytes take at a minimum rate. A body of 8 MiB may take 2 min 18 s;
// a client sending slower than 64 KiB/s on average after 10 s, or not
// reading the answer as fast, is cut.
const (
	transferGrace   = 10 * time.Second
	minTransferRate = 64 << 10 // bytes per second
)

// transferTimeout is how long n bytes may take to arrive or leave.
func transferTimeout(n int64) time.Duration {
	return transferGrace + time.Duration(n/minTransferRate)*time.Second
}
