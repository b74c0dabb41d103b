// Package deploy holds the packaging of wsus beside the repository's
// Dockerfile: the systemd unit (systemd/wsusd.service and the settings file
// it reads, systemd/wsusd.env) and the Kubernetes manifest
// (kubernetes/wsusd.yaml). It has no Go code; its tests check what can be
// checked without a container engine, an init system or a cluster: the
// image's build command gives static binaries and agrees with the
// Makefile's, the image runs as a non-root user, the unit carries its
// hardening and passes systemd-analyze verify, the manifest has its probes,
// security context and shared secrets, and every setting they name is one
// wsusd declares.
package deploy
