package main

import (
	"errors"
	"flag"
	"os"

	"wsus/clientsim/load"
)

// acksFlag defines `clientsim load --acks FILE` on fs: FILE is created when
// the flag is parsed and receives one JSON line per ReportEventBatch the
// server acknowledged (load.Ack, via cfg.Acks); a failed write shows in the
// report's ack_error. The returned function closes the file (a no-op
// without the flag).
func acksFlag(fs *flag.FlagSet, cfg *load.Config) (closeAcks func() error) {
	var f *os.File
	fs.Func("acks", "write one JSON line per ReportEventBatch the server acknowledged (client_id, events: instance_id, event_id, update_id, hresult) to this file", func(path string) error {
		if f != nil {
			return errors.New("given twice")
		}
		var err error
		if f, err = os.Create(path); err != nil {
			return err
		}
		cfg.Acks = f
		return nil
	})
	return func() error {
		if f == nil {
			return nil
		}
		return f.Close()
	}
}
