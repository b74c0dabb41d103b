// Package catalogen generates synthetic update catalogs of any size in the
// shape of Microsoft's update metadata, for tests and benchmarks: one
// upd:Update document per revision, each of which wsus/catalog/metadata
// parses, and optionally small payload files whose digests the documents
// list, so `wsusd import DIR` loads a catalog it can serve.
//
// Every document starts with an XML comment saying it was generated (seed,
// document number): the catalog is test data, never Microsoft metadata.
//
// What is generated, modelled on the real documents and statistics in
// ../shared/protocol (metadata-samples/update-*.xml, captures/wsus-rs/
// wsus-m0-cbs/ and metadata-samples/wsus-rs-catalog-stats-windows11.json):
//
//   - the category tree: Company "Microsoft" → ProductFamily "Windows" and
//     "Office" → Products "Windows 11", "OOBE ZDP", "Microsoft Defender
//     Antivirus", "Microsoft 365 Apps"; UpdateClassifications "Security
//     Updates", "Critical Updates", "Definition Updates" and "Updates". The
//     categories whose UpdateID appears in a real sample keep it; the others
//     (Office, Microsoft 365 Apps, and the extra products Mix.Categories
//     asks for) get a GUID derived from the seed, and their comment says so;
//   - detectoids (UpdateType Detectoid), about 7.5% of them prerequisites
//     of the others, as in the real Windows 11 catalog (277 of 3,710);
//   - top-level updates: bundles of 1 to N leaves (Windows: 1, sometimes 2;
//     Defender: 1 to 24; Office: 1 to 4) or, rarely, a standalone update
//     carrying its own files. Their prerequisites are the product and the
//     classification (AtLeastOne IsCategory="true") and sometimes a
//     detectoid, so the prerequisite chain update → product → family →
//     company is 4 deep;
//   - leaves with one file (Office: 1 to 3), in the CBS shape of the real
//     Windows 11 cumulative updates or the CommandLineInstallation shape of
//     the real Defender engine leaf; leaf prerequisites are detectoids and a
//     plain AtLeastOne naming the product, as in the real leaves;
//   - supersedence: top-level updates form series (a cumulative update line,
//     a Defender channel ...); each one supersedes every older member of
//     its series, at most 47 (the real catalog averages 26 per section);
//   - second revisions: a fraction (Options.Revisions) of the top-level
//     updates get a newer revision, and a few (Mix.Expired) a newer revision
//     whose PublicationState is Expired.
//
// Documents are emitted in an order where every reference points backwards:
// categories, detectoids, then each top-level update after its leaves, then
// the second revisions. Nothing is kept per document, so a 50,000-update
// catalog streams in constant memory.
package catalogen

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Options describe the catalog to generate.
type Options struct {
	// Updates is the number of upd:Update documents (revisions) to generate,
	// categories and detectoids included; at least MinUpdates.
	Updates int
	// Seed selects the catalog: the same options give byte-identical output.
	Seed int64
	// Mix sets the proportions; the zero Mix means DefaultMix(), any other
	// Mix is taken as given (a zero field is a zero share).
	Mix Mix
	// Revisions is the fraction (0 to 1) of top-level updates that also get
	// a second, newer published revision.
	Revisions float64
	// Payloads makes every listed file a real payload: its bytes are emitted
	// as content/<XX>/<SHA1 HEX>.<ext> (XX = the digest's last byte, the WSUS
	// content layout) and the metadata lists their true Size, SHA-1 and
	// SHA-256. Without it, files get realistic sizes (kilobytes to hundreds
	// of megabytes) and digests that no content matches.
	Payloads bool
	// PayloadMinSize and PayloadMaxSize bound payload sizes in bytes
	// (defaults 1 KiB and 64 KiB, at most MaxPayloadSize).
	PayloadMinSize, PayloadMaxSize int
}

// Mix sets the proportions of a catalog.
type Mix struct {
	// Categories is the fraction of documents that are categories; beyond
	// the fixed tree of 11, the extra ones are generated products.
	Categories float64
	// Detectoids is the fraction of documents that are detectoids.
	Detectoids float64
	// Windows, Defender and Office weigh how top-level updates split between
	// Windows 11 (CBS and command-line updates), Microsoft Defender
	// Antivirus (definition update bundles) and Microsoft 365 Apps.
	Windows, Defender, Office float64
	// Expired is the fraction of top-level updates whose newest revision is
	// expired (PublicationState="Expired").
	Expired float64
}

// DefaultMix returns the "Windows 11 + Office + Defender" proportions.
//
// From the real statistics: a Windows 11 sync holds about 470 categories
// and 3,710 detectoids next to 1,094 software revisions, a Defender
// Definition Updates sync 24,509 software revisions (280 top bundles);
// synced together about 1.5% categories and 12% detectoids. Windows top-level
// updates bundle 1.07 leaves on average, Defender bundles far more. There
// are no real Office statistics: its weight and shapes are assumptions.
func DefaultMix() Mix {
	return Mix{Categories: 0.01, Detectoids: 0.12, Windows: 0.6, Defender: 0.25, Office: 0.15, Expired: 0.01}
}

// Limits of Options.
const (
	// MinUpdates is the smallest catalog: the fixed category tree plus one
	// detectoid and one bundle with a leaf.
	MinUpdates = fixedCategories + 3
	// MaxUpdates bounds Options.Updates (the index space of the derivations).
	MaxUpdates = 50_000_000
	// MaxPayloadSize bounds Options.PayloadMaxSize.
	MaxPayloadSize = 16 << 20

	defaultPayloadMin = 1 << 10
	defaultPayloadMax = 64 << 10
)

// Stats counts what Generate emitted.
type Stats struct {
	// Documents is the number of upd:Update documents (= Options.Updates).
	Documents int
	// Categories and Detectoids count those documents.
	Categories int
	Detectoids int
	// Bundles counts top-level updates that bundle leaves, Standalone those
	// that carry files themselves, Leaves the bundled leaves (first
	// revisions only).
	Bundles    int
	Standalone int
	Leaves     int
	// Revised counts second revisions that are published, Expired those
	// that are expired.
	Revised int
	Expired int
	// Files counts the distinct files listed; SupersededEdges the
	// SupersededUpdates entries of first revisions.
	Files           int
	SupersededEdges int
	// XMLBytes is the total size of the documents.
	XMLBytes int64
	// Payloads and PayloadBytes count the payload files emitted.
	Payloads     int
	PayloadBytes int64
}

// Generate generates the catalog opts describes and calls emit once per
// document, in order, with a slash-separated relative file name
// ("000042-detectoid-1a2b3c4d-r100.xml") and the document bytes; with
// Payloads, once more per payload file (named "content/XX/SHA1.ext") right
// after the document that first lists it. doc is only valid during the call.
// An error from emit stops generation and is returned, wrapped.
func Generate(opts Options, emit func(name string, doc []byte) error) (Stats, error) {
	if emit == nil {
		return Stats{}, errors.New("catalogen: generate: nil emit function")
	}
	g, err := newGenerator(opts, emit)
	if err != nil {
		return Stats{}, err
	}
	err = g.run()
	return g.stats, err
}

// Write generates the catalog into dir (created if needed): the documents
// at its top, payloads under dir/content/. Existing files of the same name
// are replaced.
func Write(ctx context.Context, dir string, opts Options) (Stats, error) {
	made := map[string]bool{}
	g, err := newGenerator(opts, func(name string, doc []byte) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.FromSlash(name))
		if sub := filepath.Dir(p); !made[sub] {
			if err := os.MkdirAll(sub, 0o755); err != nil {
				return err
			}
			made[sub] = true
		}
		return os.WriteFile(p, doc, 0o644)
	})
	if err != nil {
		return Stats{}, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return Stats{}, fmt.Errorf("catalogen: write: %w", err)
	}
	err = g.run()
	return g.stats, err
}

// withDefaults returns opts with the zero Mix and payload bounds defaulted,
// or an error naming the first bad option.
func (o Options) withDefaults() (Options, error) {
	if o.Mix == (Mix{}) {
		o.Mix = DefaultMix()
	}
	if o.PayloadMinSize == 0 {
		o.PayloadMinSize = defaultPayloadMin
	}
	if o.PayloadMaxSize == 0 {
		o.PayloadMaxSize = max(defaultPayloadMax, o.PayloadMinSize)
	}
	m := o.Mix
	fraction := func(name string, v float64) error {
		if math.IsNaN(v) || v < 0 || v > 1 {
			return fmt.Errorf("catalogen: %s is %v, want a fraction between 0 and 1", name, v)
		}
		return nil
	}
	for _, f := range []struct {
		name string
		v    float64
	}{
		{"Revisions", o.Revisions}, {"Mix.Categories", m.Categories}, {"Mix.Detectoids", m.Detectoids}, {"Mix.Expired", m.Expired},
	} {
		if err := fraction(f.name, f.v); err != nil {
			return o, err
		}
	}
	for _, f := range []struct {
		name string
		v    float64
	}{{"Mix.Windows", m.Windows}, {"Mix.Defender", m.Defender}, {"Mix.Office", m.Office}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) || f.v < 0 {
			return o, fmt.Errorf("catalogen: %s is %v, want a weight of 0 or more", f.name, f.v)
		}
	}
	switch {
	case o.Updates < MinUpdates || o.Updates > MaxUpdates:
		return o, fmt.Errorf("catalogen: Updates is %d, want %d to %d", o.Updates, MinUpdates, MaxUpdates)
	case m.Windows+m.Defender+m.Office == 0:
		return o, errors.New("catalogen: Mix.Windows, Mix.Defender and Mix.Office are all 0: no software to generate")
	case m.Categories+m.Detectoids > 0.9:
		return o, fmt.Errorf("catalogen: Mix.Categories + Mix.Detectoids is %v, want at most 0.9", m.Categories+m.Detectoids)
	case o.Revisions+m.Expired > 1:
		return o, fmt.Errorf("catalogen: Revisions + Mix.Expired is %v, want at most 1", o.Revisions+m.Expired)
	case o.PayloadMinSize < 1 || o.PayloadMaxSize < o.PayloadMinSize || o.PayloadMaxSize > MaxPayloadSize:
		return o, fmt.Errorf("catalogen: payload sizes %d to %d bytes, want 1 <= min <= max <= %d",
			o.PayloadMinSize, o.PayloadMaxSize, MaxPayloadSize)
	}
	return o, nil
}
