// Package syncbuf is a bytes.Buffer that several goroutines may write to
// while another reads it: a log destination tests share with the servers
// and stores they run.
package syncbuf

import (
	"bytes"
	"log/slog"
	"sync"
)

// Buffer is safe for concurrent Write and String.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *Buffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Take returns everything written since the last Take (or since the
// start) and empties the buffer.
func (s *Buffer) Take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// ErrorLogger returns a logger writing its records of level Error and above
// to s as text: what a test reads with Take to see that nothing failed.
func (s *Buffer) ErrorLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(s, &slog.HandlerOptions{Level: slog.LevelError}))
}
