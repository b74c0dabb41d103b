package server

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"wsus/soap/cookie"
)

// validateCookieKeys checks the previous cookie keys given in
// configuration (Config.CookieKeyPrevious, Config.CookieKeyPreviousFile);
// the file's content is checked when it is read (previousCookieKeys).
func validateCookieKeys(cfg Config) error {
	if cfg.CookieKeyPrevious != "" && cfg.CookieKeyPreviousFile != "" {
		return errors.New("server: previous cookie keys and a previous cookie key file are both configured; give one")
	}
	if _, err := cookie.ParseKeyList(cfg.CookieKeyPrevious); err != nil {
		return fmt.Errorf("server: previous cookie keys: %w", err)
	}
	return nil
}

// previousCookieKeys returns the previous cookie keys: those of
// Config.CookieKeyPrevious, else those of the file
// Config.CookieKeyPreviousFile (one a line, # comments), else none. A file
// every user may read is accepted with a warning, as other secret files.
func previousCookieKeys(cfg Config, logger *slog.Logger) ([][]byte, error) {
	if cfg.CookieKeyPreviousFile == "" {
		keys, err := cookie.ParseKeyList(cfg.CookieKeyPrevious)
		if err != nil {
			return nil, fmt.Errorf("server: previous cookie keys: %w", err)
		}
		return keys, nil
	}
	b, err := os.ReadFile(cfg.CookieKeyPreviousFile)
	if err != nil {
		return nil, fmt.Errorf("server: previous cookie key file: %w", err)
	}
	keys, err := cookie.ParseKeyFile(string(b))
	if err != nil {
		return nil, fmt.Errorf("server: previous cookie key file %s: %w", cfg.CookieKeyPreviousFile, err)
	}
	if fi, err := os.Stat(cfg.CookieKeyPreviousFile); err == nil && fi.Mode().Perm()&0o004 != 0 {
		logger.Warn("server: secret file readable by every user", "secret", "previous cookie keys",
			"file", cfg.CookieKeyPreviousFile, "mode", fi.Mode().Perm().String())
	}
	return keys, nil
}

// newSealer returns the cookie sealer of the configured keys, and the
// previous keys for the upstream role; it logs the key IDs (cookie.KeyID),
// which operators compare across replicas without showing a key.
func newSealer(cfg Config, logger *slog.Logger) (*cookie.Sealer, []byte, [][]byte, error) {
	key, err := cookieKey(cfg, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	previous, err := previousCookieKeys(cfg, logger)
	if err != nil {
		return nil, nil, nil, err
	}
	sealer, err := cookie.NewSealer(key, previous...)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("server: %w", err)
	}
	ids := sealer.KeyIDs()
	logger.Info("server: cookie keys", "key_id", ids[0], "previous_key_ids", ids[1:])
	return sealer, key, previous, nil
}
