package soap

import (
	"bytes"
	"strconv"
)

// Clients send their whole update cache as ArrayOfInt on every SyncUpdates
// call: tens of thousands of <int> elements, which a DOM parse turns into as
// many allocations. ExtractIntArrays takes such arrays out of the raw body
// before the envelope is parsed. It accepts only the plain shape every known
// client writes (<int>digits</int> items, optional whitespace and a prefix
// on the tags); anything else in an array (comments, CDATA, attributes on
// items, entities) makes it leave that array in place for the DOM parser, so
// the result is always what a full parse would give.

// ExtractableArrays are the ArrayOfInt parameters worth extracting.
var ExtractableArrays = []string{"InstalledNonLeafUpdateIDs", "OtherCachedUpdateIDs", "CachedDriverIDs"}

// findStartTag finds the first start tag of an element with local name name
// (optionally prefixed, optionally with attributes, not self-closing). It
// returns the offsets of the whole tag and of its qualified name.
//
// It runs in time linear in len(b): after a candidate name it looks for the
// tag's end (skipping quoted attribute values) only up to the next '<', and
// resumes the search there, so no byte is scanned more than twice whatever
// the input (a body of repeated "<CachedDriverIDs " without '>' once made
// it quadratic).
func findStartTag(b []byte, name string) (tagStart, tagEnd, nameStart, nameEnd int, ok bool) {
	for from := 0; ; {
		i := bytes.Index(b[from:], []byte(name))
		if i < 0 {
			return 0, 0, 0, 0, false
		}
		i += from
		from = i + len(name)
		// Walk back over an optional prefix to the '<'.
		j := i
		if j > 0 && b[j-1] == ':' {
			j--
			for j > 0 && isNameByte(b[j-1]) {
				j--
			}
		}
		if j == 0 || b[j-1] != '<' || (j < i && b[j] == ':') {
			continue
		}
		after := i + len(name)
		if after >= len(b) || !(b[after] == '>' || b[after] == ' ' || b[after] == '\t' || b[after] == '\n' || b[after] == '\r') {
			continue
		}
		end, next := startTagEnd(b, after)
		if end < 0 {
			if next < 0 {
				return 0, 0, 0, 0, false // no tag is complete after this point
			}
			// Not a tag; no start tag can begin before that '<' either.
			from = next
			continue
		}
		if end > after && b[end-1] == '/' {
			continue // self-closing: nothing to extract
		}
		return j - 1, end + 1, j, after, true
	}
}

// startTagEnd finds the '>' closing a start tag whose attributes begin at from,
// skipping quoted attribute values (which may hold '>'). When a '<' comes
// first (the tag is broken) it returns end -1 and that '<' as next; when
// neither comes, -1 and -1.
func startTagEnd(b []byte, from int) (end, next int) {
	var quote byte
	for k := from; k < len(b); k++ {
		switch c := b[k]; {
		case c == '<':
			return -1, k // never inside a well-formed attribute value
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '>':
			return k, -1
		}
	}
	return -1, -1
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

// ExtractIntArrays removes the content of the named ArrayOfInt elements
// (each of ExtractableArrays, first occurrence) from body and returns the
// body without it and the parsed values. A name missing from arrays was not
// extracted (absent, self-closing, nil or of an unusual shape): read it from
// the parsed envelope as usual.
func ExtractIntArrays(body []byte) (rest []byte, arrays map[string][]int32) {
	rest = body
	if hasOtherMarkup(body) {
		return body, nil // leave it all to the parser
	}
	for _, name := range ExtractableArrays {
		start, end, ok := elementContent(rest, name)
		if !ok {
			continue
		}
		ids, ok := parseIntItems(rest[start:end])
		if !ok {
			continue
		}
		if arrays == nil {
			arrays = map[string][]int32{}
		}
		arrays[name] = ids
		rest = cut(rest, start, end)
	}
	return rest, arrays
}

// hasOtherMarkup reports whether body holds markup the byte scanners do not
// understand, inside which a tag may appear that is not one: comments,
// CDATA sections, a DTD, or processing instructions other than a leading
// XML declaration.
func hasOtherMarkup(body []byte) bool {
	if bytes.Contains(body, []byte("<!")) {
		return true
	}
	rest := bytes.TrimLeft(body, "\ufeff \t\r\n")
	if bytes.HasPrefix(rest, []byte("<?xml")) {
		end := bytes.Index(rest, []byte("?>"))
		if end < 0 {
			return true
		}
		rest = rest[end+2:]
	}
	return bytes.Contains(rest, []byte("<?"))
}

// CutElementContent removes the content of the first element with local
// name name from body, leaving the element empty, and returns the removed
// bytes (raw XML, namespace declarations of outer elements not included).
// ok is false, and body unchanged, when there is no such element with
// content, it holds an element of the same name, or body holds markup the
// scanner leaves to the parser (see hasOtherMarkup).
func CutElementContent(body []byte, name string) (rest, content []byte, ok bool) {
	if hasOtherMarkup(body) {
		return body, nil, false
	}
	start, end, ok := elementContent(body, name)
	if !ok {
		return body, nil, false
	}
	if _, _, _, _, nested := findStartTag(body[start:end], name); nested {
		return body, nil, false // the first end tag may close the inner one
	}
	return cut(body, start, end), bytes.Clone(body[start:end]), true
}

// elementContent locates the content of the first non-nil element with
// local name name.
func elementContent(b []byte, name string) (start, end int, ok bool) {
	tagStart, tagEnd, nameStart, nameEnd, found := findStartTag(b, name)
	if !found || bytes.Contains(b[tagStart:tagEnd], []byte("nil")) {
		return 0, 0, false
	}
	closing := append(append([]byte("</"), b[nameStart:nameEnd]...), '>')
	n := bytes.Index(b[tagEnd:], closing)
	if n < 0 {
		return 0, 0, false
	}
	return tagEnd, tagEnd + n, true
}

// cut returns b without b[start:end], in a new slice.
func cut(b []byte, start, end int) []byte {
	out := make([]byte, 0, len(b)-(end-start))
	return append(append(out, b[:start]...), b[end:]...)
}

// parseIntItems parses a sequence of <p:int>N</p:int> items separated by
// optional whitespace; ok is false for anything else.
func parseIntItems(b []byte) (ids []int32, ok bool) {
	ids = make([]int32, 0, bytes.Count(b, []byte("</"))+1)
	i := skipSpace(b, 0)
	for i < len(b) {
		if b[i] != '<' {
			return nil, false
		}
		gt := bytes.IndexByte(b[i:], '>')
		if gt < 0 {
			return nil, false
		}
		tag := b[i+1 : i+gt]
		if !isIntTag(tag) {
			return nil, false
		}
		i += gt + 1
		j := i
		for j < len(b) && b[j] != '<' {
			j++
		}
		v, err := strconv.ParseInt(string(bytes.TrimSpace(b[i:j])), 10, 32)
		if err != nil {
			return nil, false
		}
		closing := len(tag) + 3
		if j+closing > len(b) || b[j+1] != '/' || !bytes.Equal(b[j+2:j+2+len(tag)], tag) || b[j+2+len(tag)] != '>' {
			return nil, false
		}
		ids = append(ids, int32(v))
		i = skipSpace(b, j+closing)
	}
	return ids, true
}

// isIntTag reports whether tag is "int" or "prefix:int", with no attributes.
func isIntTag(tag []byte) bool {
	local := tag
	if c := bytes.IndexByte(tag, ':'); c >= 0 {
		local = tag[c+1:]
		for _, ch := range tag[:c] {
			if !isNameByte(ch) {
				return false
			}
		}
	}
	return string(local) == "int"
}

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}
