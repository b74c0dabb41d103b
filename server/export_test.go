package server

import "time"

// SetShortTimeouts sets the read and write deadlines of the short paths
// (admin API, health, 404) of s, so that tests need not wait 30 s.
func SetShortTimeouts(s *Server, read, write time.Duration) {
	for _, rt := range []*router{s.client, s.admin} {
		if rt != nil {
			rt.readTimeout, rt.writeTimeout = read, write
		}
	}
}
