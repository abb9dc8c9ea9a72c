package dispatch

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestDispatchRunsEveryHandlerAndJoinsErrors(t *testing.T) {
	r := NewRouter(nil)
	var ran []string
	boom := errors.New("boom")
	r.Register(HandlerFunc(func(_ context.Context, d Delivery) error { ran = append(ran, "a:"+d.ID); return boom }), "issues")
	r.Register(HandlerFunc(func(_ context.Context, d Delivery) error { ran = append(ran, "b:"+d.ID); return nil }), "issues", "push")

	err := r.Dispatch(context.Background(), Delivery{ID: "1", Event: "issues"})
	if !errors.Is(err, boom) {
		t.Fatalf("Dispatch error = %v, want it to wrap the failing handler's error", err)
	}
	if strings.Join(ran, ",") != "a:1,b:1" {
		t.Errorf("handlers ran %v, want both even though the first failed", ran)
	}

	ran = nil
	if err := r.Dispatch(context.Background(), Delivery{ID: "2", Event: "push"}); err != nil || strings.Join(ran, ",") != "b:2" {
		t.Errorf("push: err %v, ran %v", err, ran)
	}
	ran = nil
	if err := r.Dispatch(context.Background(), Delivery{ID: "3", Event: "star"}); err != nil || len(ran) != 0 {
		t.Errorf("unregistered event: err %v, ran %v; want nothing run and no error", err, ran)
	}
}
