package serversync

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"wsus/soap"
)

// anchorTimeLayout is the time part of a Windows WSUS anchor,
// "yyyy-MM-dd hh:mm:ss.sss" (NewConfigAnchor "9438,2026-10-04 16:33:26.670"
// in wsusss-GetConfigDataResponse-wsus-upstream.xml).
const anchorTimeLayout = "2006-01-02 15:04:05.000"

// anchor is a parsed anchor: the change sequence it was minted at and
// when.
type anchor struct {
	seq int64
	at  time.Time
}

// String writes the anchor in the Windows form "nnnn,yyyy-MM-dd hh:mm:ss.sss".
func (a anchor) String() string {
	return strconv.FormatInt(a.seq, 10) + "," + a.at.UTC().Format(anchorTimeLayout)
}

// parseAnchor reads an anchor this server minted. [I] The real WSUS
// refuses "garbage" (MS-WSUSSS.md 2.2); this server refuses whatever does
// not have its own form, anchors of other servers (Microsoft Update writes
// a bare time) included: a DSS sends an upstream only the anchors it got
// from it.
func parseAnchor(s string) (anchor, error) {
	num, when, ok := strings.Cut(s, ",")
	if !ok {
		return anchor{}, fmt.Errorf("anchor %q: no comma", s)
	}
	seq, err := strconv.ParseInt(num, 10, 64)
	if err != nil || seq < 0 || num[0] == '+' {
		return anchor{}, fmt.Errorf("anchor %q: bad change sequence", s)
	}
	at, err := time.Parse(anchorTimeLayout, when)
	if err != nil {
		return anchor{}, fmt.Errorf("anchor %q: %w", s, err)
	}
	return anchor{seq: seq, at: at}, nil
}

// fromHere fails with ServerChanged when a is ahead of seq, this store's
// change sequence now. [I] The sequence only grows, so such an anchor was
// minted by another installation (the upstream was reinstalled or its
// catalog replaced): the DSS must drop its anchors, which name changes of
// another catalog, instead of being told nothing changed.
func (a *anchor) fromHere(seq int64) error {
	if a != nil && a.seq > seq {
		return soap.Errorf(soap.ServerChanged, "")
	}
	return nil
}
