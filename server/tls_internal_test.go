package server

import (
	"crypto/tls"
	"net/http/httptest"
	"testing"
)

func TestContentBase(t *testing.T) {
	trusted, err := ParseTrustedProxies("10.0.0.0/8, 192.0.2.7")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name       string
		contentURL string
		listen     string
		tls        bool
		host       string
		remote     string
		forwarded  map[string]string
		want       string
	}{
		{name: "plain request", listen: "0.0.0.0:8530", host: "wsus.example.com:8530", want: "http://wsus.example.com:8530"},
		{name: "TLS request: content on the plain port", listen: "0.0.0.0:8530", tls: true, host: "wsus.example.com:8531", want: "http://wsus.example.com:8530"},
		{name: "TLS request without port in Host", listen: "0.0.0.0:8530", tls: true, host: "wsus.example.com", want: "http://wsus.example.com:8530"},
		{name: "TLS request, IPv6 host", listen: "[::]:8530", tls: true, host: "[2001:db8::1]:8531", want: "http://[2001:db8::1]:8530"},
		{name: "configured content URL wins", contentURL: "https://dl.example.com/", listen: "0.0.0.0:8530", tls: true, host: "wsus.example.com:8531", want: "https://dl.example.com"},
		{name: "trusted proxy terminating TLS", listen: "0.0.0.0:8530", host: "backend:8530", remote: "10.1.2.3:5555",
			forwarded: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "wsus.example.com:8531"}, want: "http://wsus.example.com:8530"},
		{name: "trusted single address", listen: "0.0.0.0:8530", host: "backend:8530", remote: "192.0.2.7:5555",
			forwarded: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "wsus.example.com"}, want: "http://wsus.example.com:8530"},
		{name: "untrusted forwarded headers ignored", listen: "0.0.0.0:8530", host: "wsus.example.com:8530", remote: "203.0.113.9:5555",
			forwarded: map[string]string{"X-Forwarded-Proto": "https", "X-Forwarded-Host": "evil.example.com"}, want: "http://wsus.example.com:8530"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "http://"+tc.host+"/ClientWebService/client.asmx", nil)
			r.Host = tc.host
			if tc.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if tc.remote != "" {
				r.RemoteAddr = tc.remote
			}
			for k, v := range tc.forwarded {
				r.Header.Set(k, v)
			}
			if got := contentBaseFunc(tc.contentURL, tc.listen, trusted)(r); got != tc.want {
				t.Errorf("content base %q, want %q", got, tc.want)
			}
		})
	}
	if _, err := ParseTrustedProxies("10.0.0.0/8,not-an-ip"); err == nil {
		t.Error("a bad trusted proxy was accepted")
	}
}
