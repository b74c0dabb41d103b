package main

import (
	"flag"
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
	fs := flag.NewFlagSet("wsusd tls init", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := map[string]string{"out": "WSUS_TLS_DIR", "host": "WSUS_TLS_HOSTS"}
	out := fs.String("out", "./data/tls", "folder of the CA and server certificate (an existing CA there is reused)")
	hosts := fs.String("host", "", "comma-separated DNS names and IP addresses clients use to reach the server (the host of the intranet update service URL); the first is the subject")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: wsusd tls init --host NAME[,NAME...] [--out DIR]\n\nMakes a private CA (once per folder) and a server certificate signed by it.")
		printFlags(fs, env)
	}
	if err := parse(fs, args[1:], env); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return flagError(fmt.Sprintf("tls init takes no arguments, got %q", fs.Args()))
	}
	var names []string
	for _, h := range strings.Split(*hosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			names = append(names, h)
		}
	}
	if len(names) == 0 {
		return flagError("--host (WSUS_TLS_HOSTS): give the names clients use to reach the server, e.g. --host wsus.example.com")
	}
	res, err := pki.Init(*out, names, time.Now())
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
