package serversync

import (
	"context"
	"net/http"
	"sync"
)

// budget bounds the memory of the answers being built at once, across the
// requests of one Services: an operation reserves the bytes of its answer
// as it writes them (reservation.grow) and the wrapped handler gives them
// back once the answer is sent, so the bound holds until the bytes leave.
type budget struct {
	max int64

	mu   sync.Mutex
	used int64
}

// reservation is one request's share of a budget.
type reservation struct {
	b *budget
	n int64
}

type reservationKey struct{}

// wrap returns h with a reservation in each request's context, released
// when h returns (the soap service has then written the answer).
func (b *budget) wrap(h http.Handler) http.Handler {
	return &budgeted{b: b, h: h}
}

// budgeted is a handler wrapped by budget.wrap.
type budgeted struct {
	b *budget
	h http.Handler
}

// ServeHTTP serves r with a reservation in its context.
func (bh *budgeted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	res := &reservation{b: bh.b}
	defer res.release()
	bh.h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reservationKey{}, res)))
}

// Unwrap returns the wrapped handler (the soap.Service, whose name and
// operations the server's metrics read).
func (bh *budgeted) Unwrap() http.Handler { return bh.h }

// reservationOf returns the reservation of ctx; nil (no accounting) when
// the operation runs outside wrap (unit tests).
func reservationOf(ctx context.Context) *reservation {
	res, _ := ctx.Value(reservationKey{}).(*reservation)
	return res
}

// grow reserves n more bytes; it reports false, reserving nothing, when
// the budget has no room.
func (r *reservation) grow(n int64) bool {
	if r == nil {
		return true
	}
	r.b.mu.Lock()
	defer r.b.mu.Unlock()
	if n < 0 || r.b.used+n > r.b.max {
		return false
	}
	r.b.used += n
	r.n += n
	return true
}

func (r *reservation) release() {
	r.b.mu.Lock()
	r.b.used -= r.n
	r.b.mu.Unlock()
	r.n = 0
}
