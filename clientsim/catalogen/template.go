package catalogen

import "strings"

// template is markup with {NAME} placeholders, split once so that filling
// it is a sequence of appends.
type template struct {
	parts []string // literal, name, literal, name, ..., literal
}

// parseTemplate splits s at its {NAME} placeholders (NAME: letters and digits).
func parseTemplate(s string) template {
	var t template
	for {
		i := strings.IndexByte(s, '{')
		j := strings.IndexByte(s[i+1:], '}')
		if i < 0 || j < 0 {
			t.parts = append(t.parts, s)
			return t
		}
		t.parts = append(t.parts, s[:i], s[i+1:i+1+j])
		s = s[i+2+j:]
	}
}

// fill appends the template to w with every placeholder replaced, escaped,
// by its value in kv (name, value, name, value ...); a name kv lacks is
// replaced by nothing.
func (t template) fill(w *xmlBuf, kv ...string) {
	for i, p := range t.parts {
		if i%2 == 0 {
			w.raw(p)
			continue
		}
		for j := 0; j+1 < len(kv); j += 2 {
			if kv[j] == p {
				w.escape(kv[j+1])
				break
			}
		}
	}
}
