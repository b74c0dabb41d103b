package server

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// readSecretFile reads a secret (what: "admin token") from the file at
// path, the way secrets are mounted by orchestrators (Kubernetes, Docker
// and systemd credentials): surrounding white space is trimmed; an empty
// file or one of several lines is refused. A file every user may read is
// accepted with a warning: the secret is then no better kept than on the
// command line.
func readSecretFile(path, what string, logger *slog.Logger) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("server: %s file: %w", what, err)
	}
	s := strings.TrimSpace(string(b))
	switch {
	case s == "":
		return "", fmt.Errorf("server: %s file %s is empty", what, path)
	case strings.ContainsAny(s, "\r\n"):
		return "", fmt.Errorf("server: %s file %s has more than one line", what, path)
	}
	if fi, err := os.Stat(path); err == nil && fi.Mode().Perm()&0o004 != 0 {
		logger.Warn("server: secret file readable by every user", "secret", what, "file", path, "mode", fi.Mode().Perm().String())
	}
	return s, nil
}
