package reqinfo

import (
	"context"
	"sync"
	"testing"
)

func TestInfo(t *testing.T) {
	ctx, info := Attach(context.Background())
	if From(ctx) != info {
		t.Fatal("From does not return the attached Info")
	}
	var wg sync.WaitGroup
	wg.Go(func() { From(ctx).SetOperation("ClientWebService", "SyncUpdates") })
	wg.Go(func() { From(ctx).SetClientID("c1") })
	wg.Wait()
	From(ctx).SetFault("ServerBusy")
	From(ctx).SetShed()
	var rec Record
	info.Fill(&rec)
	want := Record{Service: "ClientWebService", Operation: "SyncUpdates", ClientID: "c1", FaultCode: "ServerBusy", Shed: true}
	if rec != want {
		t.Fatalf("record = %+v, want %+v", rec, want)
	}
}

func TestNilInfo(t *testing.T) {
	var i *Info = From(context.Background())
	if i != nil {
		t.Fatal("From of a bare context is not nil")
	}
	i.SetOperation("s", "o")
	i.SetClientID("c")
	i.SetFault("f")
	i.SetShed()
	rec := Record{Status: 200}
	i.Fill(&rec)
	if rec != (Record{Status: 200}) {
		t.Fatalf("nil Info changed the record: %+v", rec)
	}
}
