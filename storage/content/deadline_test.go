package content_test

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"wsus/internal/syncbuf"
	"wsus/storage/content"
)

// socketBuffer is the send buffer of the server's sockets and the receive
// buffer of the test clients': small, so that a client that stops reading
// blocks the server's writes after a few hundred KiB instead of the
// megabytes loopback sockets buffer by default.
const socketBuffer = 32 << 10

// smallBufferListener gives every accepted connection a small send buffer.
type smallBufferListener struct{ net.Listener }

func (l smallBufferListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		if err := tc.SetWriteBuffer(socketBuffer); err != nil {
			c.Close()
			return nil, err
		}
	}
	return c, err
}

// newDeadlineServer serves store with the given write timeout on a real
// listener whose sockets buffer little, logging at debug level.
func newDeadlineServer(t *testing.T, store content.Store, timeout time.Duration) (*httptest.Server, *syncbuf.Buffer) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := httptest.NewUnstartedServer(content.NewHandlerWith(store, content.Options{Logger: logger, WriteTimeout: timeout}))
	srv.Listener = smallBufferListener{srv.Listener}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, logs
}

// dialSmall connects to srv with a small receive buffer (set before the
// connection is made, so the window the client offers stays small).
func dialSmall(t *testing.T, srv *httptest.Server) net.Conn {
	t.Helper()
	d := net.Dialer{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, socketBuffer)
		})
		return errors.Join(err, serr)
	}}
	conn, err := d.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// get sends a GET of path on conn and reads the answer's header.
func get(t *testing.T, conn net.Conn, br *bufio.Reader, path string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://wsus"+path, nil)
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitForLog waits (up to a generous bound) until the log contains s.
func waitForLog(t *testing.T, logs *syncbuf.Buffer, s string) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(logs.String(), s); {
		if time.Now().After(deadline) {
			t.Fatalf("log never said %q:\n%s", s, logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A client that stops reading a download is cut off: once a write has made
// no progress for the write timeout, the handler aborts and the connection
// is closed, so the client sees a truncated body.
func TestClientThatStopsReadingIsCut(t *testing.T) {
	store := newStore(t)
	obj := put(t, store, testData(8<<20))
	srv, logs := newDeadlineServer(t, store, 200*time.Millisecond)
	conn := dialSmall(t, srv)
	br := bufio.NewReader(conn)
	resp := get(t, conn, br, obj.path(".cab"))
	if resp.StatusCode != http.StatusOK || resp.ContentLength != int64(len(obj.data)) {
		t.Fatalf("status %d, length %d; want 200 with the whole file", resp.StatusCode, resp.ContentLength)
	}
	// Stop reading until the handler gives up.
	waitForLog(t, logs, "content: client went away")
	if !strings.Contains(logs.String(), "i/o timeout") {
		t.Errorf("the handler gave up for another reason than the write deadline:\n%s", logs)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, err := io.Copy(io.Discard, resp.Body)
	if n >= int64(len(obj.data)) || err == nil {
		t.Errorf("client read %d of %d bytes, err %v; want a truncated body", n, len(obj.data), err)
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("the connection was not closed: the client's read timed out after %d bytes", n)
	}
}

// A download that keeps moving, however slowly and however long, is never
// cut: the deadline bounds each write, not the whole answer.
func TestSlowButSteadyDownloadCompletes(t *testing.T) {
	store := newStore(t)
	obj := put(t, store, testData(8<<20))
	const timeout = time.Second
	srv, logs := newDeadlineServer(t, store, timeout)
	conn := dialSmall(t, srv)
	br := bufio.NewReader(conn)
	start := time.Now()
	resp := get(t, conn, br, obj.path(".cab"))
	// 32 KiB every 10 ms at most: at least 2.5 s for 8 MiB, several write
	// timeouts, while each 128 KiB write of the handler waits about 40 ms.
	h := sha256.New()
	buf := make([]byte, 32<<10)
	var got int64
	for {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		n, err := io.ReadFull(resp.Body, buf)
		h.Write(buf[:n])
		got += int64(n)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v\n%s", got, err, logs)
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := sha256.Sum256(obj.data)
	if got != int64(len(obj.data)) || !bytes.Equal(h.Sum(nil), want[:]) {
		t.Fatalf("read %d bytes (digest match %v), want all %d intact\n%s", got, bytes.Equal(h.Sum(nil), want[:]), len(obj.data), logs)
	}
	if strings.Contains(logs.String(), "client went away") {
		t.Errorf("the handler gave up on a moving download:\n%s", logs)
	}
	t.Logf("%d bytes in %v with a write timeout of %v", got, time.Since(start).Round(time.Millisecond), timeout)

	// The deadline of the download does not outlive it: the next request
	// on the kept-alive connection, sent after it would have passed, is
	// answered.
	time.Sleep(2 * timeout)
	resp = get(t, conn, br, obj.path(".cab"))
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || n != int64(len(obj.data)) {
		t.Errorf("second download on the connection: %d bytes, %v", n, err)
	}
}

// A GET that announces a body and never sends it does not hold the
// handler: it gets 400 once the timeout has passed and the connection is
// closed. A GET with a small body it does send is served.
func TestStalledRequestBodyDoesNotHoldTheHandler(t *testing.T) {
	store := newStore(t)
	obj := put(t, store, testData(300<<10))
	srv, logs := newDeadlineServer(t, store, 200*time.Millisecond)
	conn := dialSmall(t, srv)
	br := bufio.NewReader(conn)
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))

	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: wsus\r\nContent-Length: 10\r\n\r\n0123456789", obj.path(".cab"))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v\n%s", err, logs)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, obj.data) || resp.Close {
		t.Errorf("status %d, %d bytes (err %v), Connection: close %v; want the whole file on a kept-alive connection", resp.StatusCode, len(body), err, resp.Close)
	}

	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: wsus\r\nContent-Length: 1000\r\n\r\n0123456789", obj.path(".cab"))
	resp, err = http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer: %v\n%s", err, logs)
	}
	body, err = io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusBadRequest || string(body) != "Bad Request\n" || !resp.Close {
		t.Errorf("status %d, body %q (err %v), Connection: close %v; want 400 and the connection closed", resp.StatusCode, body, err, resp.Close)
	}
	if _, err := br.ReadByte(); err != io.EOF {
		t.Errorf("after the answer: %v, want EOF (connection closed)", err)
	}
}
