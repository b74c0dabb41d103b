package load

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"wsus/internal/xpress"
)

// Ack is one ReportEventBatch call the server acknowledged: it answered
// HTTP 200 with ReportEventBatchResult true (MS-WUSP.md §3.1.4.17; the
// server then holds the events, and the agent forgets them). It is read
// from the wire, from the request the client sent and the answer it got,
// not from what the simulated agent believes it sent.
type Ack struct {
	// ClientID is the SusClientId of the events (BasicData/TargetID/Sid);
	// the agents send one computer's events per batch.
	ClientID string `json:"client_id"`
	// Events are the batch's events in the order sent.
	Events []AckEvent `json:"events"`
}

// AckEvent is one event of an acknowledged batch.
type AckEvent struct {
	// InstanceID is the EventInstanceID: the server keeps an event once
	// per InstanceID, so a batch sent twice is stored once.
	InstanceID string `json:"instance_id"`
	// EventID is the event's kind: 147 detection, 156 status, 162
	// download, 181 install started, 182 install failed, 183 installed,
	// 184 installed pending a restart (MS-WUSP.md §7.2).
	EventID int `json:"event_id"`
	// UpdateID is the update the event is about, empty when none.
	UpdateID string `json:"update_id,omitempty"`
	// HResult is the event's Win32HResult (the failure of a 182).
	HResult int32 `json:"hresult,omitempty"`
}

// AckTotals counts the acknowledged ReportEventBatch calls of a run and
// their events (Report.Acknowledged).
type AckTotals struct {
	Batches int `json:"batches"`
	Events  int `json:"events"`
}

// maxAckBytes bounds the request and answer bodies the recorder reads:
// a batch holds at most 1,000 events of about 2 KB (soap/wusp.MaxEventsPerBatch).
const maxAckBytes = 8 << 20

// reportAction is the SOAPAction of ReportEventBatch, without the quotes
// the agent puts around it.
const reportAction = "http://www.microsoft.com/SoftwareDistribution/ReportEventBatch"

// ackLog records acknowledged batches: their totals, and each as a JSON
// line on w when w is set. It is safe for concurrent use.
type ackLog struct {
	mu     sync.Mutex
	w      io.Writer // nil: totals only
	totals AckTotals
	err    error // first error writing w or decoding a batch
}

// add records one acknowledged batch.
func (l *ackLog) add(a Ack) {
	line, err := json.Marshal(a)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.totals.Batches++
	l.totals.Events += len(a.Events)
	if err == nil && l.w != nil {
		_, err = l.w.Write(append(line, '\n'))
	}
	if err != nil && l.err == nil {
		l.err = fmt.Errorf("load: acknowledged reports: %w", err)
	}
}

// fail keeps the first error that makes the record incomplete.
func (l *ackLog) fail(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.err == nil {
		l.err = fmt.Errorf("load: acknowledged reports: %w", err)
	}
}

// result returns the totals and the first error.
func (l *ackLog) result() (AckTotals, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.totals, l.err
}

// ackRecorder is an http.RoundTripper that passes every request on to next
// and records, in log, each ReportEventBatch the server acknowledged.
// Other requests pass untouched; a report's request and answer bodies are
// read in full and handed on unchanged.
type ackRecorder struct {
	next http.RoundTripper
	log  *ackLog
}

// RoundTrip implements http.RoundTripper.
func (a ackRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || strings.Trim(r.Header.Get("SOAPAction"), `"`) != reportAction || r.Body == nil {
		return a.next.RoundTrip(r)
	}
	sent, err := io.ReadAll(io.LimitReader(r.Body, maxAckBytes))
	r.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("load: read ReportEventBatch request: %w", err)
	}
	out := r.Clone(r.Context())
	out.Body = io.NopCloser(bytes.NewReader(sent))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(sent)), nil }
	out.ContentLength = int64(len(sent))
	resp, err := a.next.RoundTrip(out)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	answer, err := io.ReadAll(io.LimitReader(resp.Body, maxAckBytes))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(answer))
	if err != nil {
		// The agent sees the same failure: no acknowledgement reached it.
		return resp, nil
	}
	ok, err := acknowledged(resp.Header.Get("Content-Encoding"), answer)
	if err != nil || !ok {
		return resp, nil // the agent fails the report the same way
	}
	ack, err := decodeBatch(sent)
	if err != nil {
		a.log.fail(err)
		return resp, nil
	}
	a.log.add(ack)
	return resp, nil
}

// CloseIdleConnections closes the idle connections of next.
func (a ackRecorder) CloseIdleConnections() {
	if c, ok := a.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// acknowledged reports whether answer, in the given Content-Encoding, is a
// ReportEventBatchResponse whose ReportEventBatchResult is true.
func acknowledged(encoding string, answer []byte) (bool, error) {
	if strings.EqualFold(encoding, "xpress") {
		var err error
		if answer, err = xpress.Unframe(nil, answer, maxAckBytes); err != nil {
			return false, err
		}
	} else if encoding != "" && !strings.EqualFold(encoding, "identity") {
		return false, fmt.Errorf("Content-Encoding %q", encoding)
	}
	var env struct {
		Result *string `xml:"Body>ReportEventBatchResponse>ReportEventBatchResult"`
	}
	if err := xml.Unmarshal(answer, &env); err != nil {
		return false, err
	}
	return env.Result != nil && strings.TrimSpace(*env.Result) == "true", nil
}

// decodeBatch reads the client and events of a ReportEventBatch request.
func decodeBatch(body []byte) (Ack, error) {
	var env struct {
		Events []struct {
			Sid        string `xml:"BasicData>TargetID>Sid"`
			InstanceID string `xml:"BasicData>EventInstanceID"`
			EventID    int    `xml:"BasicData>EventID"`
			UpdateID   string `xml:"BasicData>UpdateID>UpdateID"`
			HResult    int32  `xml:"BasicData>Win32HResult"`
		} `xml:"Body>ReportEventBatch>eventBatch>ReportingEvent"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return Ack{}, fmt.Errorf("decode ReportEventBatch request: %w", err)
	}
	if len(env.Events) == 0 {
		return Ack{}, errors.New("decode ReportEventBatch request: no events")
	}
	ack := Ack{ClientID: env.Events[0].Sid, Events: make([]AckEvent, len(env.Events))}
	for i, e := range env.Events {
		if e.Sid != ack.ClientID {
			return Ack{}, fmt.Errorf("decode ReportEventBatch request: events of %s and %s in one batch", ack.ClientID, e.Sid)
		}
		ack.Events[i] = AckEvent{InstanceID: e.InstanceID, EventID: e.EventID, UpdateID: strings.ToLower(e.UpdateID), HResult: e.HResult}
	}
	return ack, nil
}
