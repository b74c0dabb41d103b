package console

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// This file reads the shapes of form fields the API takes as typed values
// (numbers, lists), and tells a form refused for what it holds from other
// failures (postForm).

// optionalInt is the whole number in field key, nil when it is empty.
func optionalInt(f url.Values, key, label string) (*int, error) {
	s := strings.TrimSpace(f.Get(key))
	if s == "" {
		return nil, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, fieldError(fmt.Sprintf("%s: %q is not a whole number", label, s))
	}
	return &n, nil
}

// optionalFloat is the number in field key, nil when it is empty.
func optionalFloat(f url.Values, key, label string) (*float64, error) {
	s := strings.TrimSpace(f.Get(key))
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, fieldError(fmt.Sprintf("%s: %q is not a number", label, s))
	}
	return &n, nil
}

// splitList splits a field's text at sep, trimming entries and dropping
// empty ones; never nil.
func splitList(s, sep string) []string {
	out := []string{}
	for _, v := range strings.Split(s, sep) {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// refusedForm tells whether err refuses a form for what it holds, with
// the status to answer: the API's 400, 409 (a name or position taken) or
// 412 (changed meanwhile), or a field the console cannot read (400).
func refusedForm(err error) (int, bool) {
	var fe fieldError
	if errors.As(err, &fe) {
		return http.StatusBadRequest, true
	}
	var e *apiError
	if errors.As(err, &e) {
		switch e.Status {
		case http.StatusBadRequest, http.StatusConflict, http.StatusPreconditionFailed:
			return e.Status, true
		}
	}
	return 0, false
}

// fieldError is a form's field the console cannot read as what it holds
// (a number): the form is refused as the API refuses a bad value, 400.
type fieldError string

func (e fieldError) Error() string { return string(e) }
