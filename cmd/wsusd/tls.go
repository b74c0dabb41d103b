package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"wsus/internal/pki"
)

// tlsCmd runs `wsusd tls init`.
func tlsCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "init" {
		fmt.Fprintln(stderr, "usage: wsusd tls init --host NAME[,NAME...] [--out DIR]")
		return errUsage
	}
	var o tlsOptions
	rest, err := parseSettings(tlsSettings(&o), args[1:], stderr,
		"usage: wsusd tls init --host NAME[,NAME...] [--out DIR]\n\nMakes a private CA (once per folder) and a server certificate signed by it.")
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return flagError(fmt.Sprintf("tls init takes no arguments, got %q", rest))
	}
	var names []string
	for _, h := range strings.Split(o.hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			names = append(names, h)
		}
	}
	if len(names) == 0 {
		return flagError("--host (WSUS_TLS_HOSTS): give the names clients use to reach the server, e.g. --host wsus.example.com")
	}
	res, err := pki.Init(o.out, names, time.Now())
	if err != nil {
		return err
	}
	ca := "reused"
	if res.NewCA {
		ca = "made"
	}
	fmt.Fprintf(stdout, "CA %s: %s (deploy it to clients; keep %s private)\n", ca, res.CACert, res.CAKey)
	fmt.Fprintf(stdout, "server certificate for %s, valid until %s:\n  wsusd serve --tls-listen 0.0.0.0:8531 --tls-cert %s --tls-key %s\n",
		strings.Join(names, ", "), res.NotAfter.UTC().Format(time.DateOnly), res.ServerCert, res.ServerKey)
	return nil
}
