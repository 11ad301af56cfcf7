package destination

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const natsAddr = "127.0.0.1:4222"

func needNATS(t *testing.T) {
	t.Helper()
	c, err := net.DialTimeout("tcp", natsAddr, time.Second)
	if err == nil {
		c.Close()
		return
	}
	msg := fmt.Sprintf("NATS server not reachable at %s (%v): start nats-server -js to run this test", natsAddr, err)
	if os.Getenv("SEGD_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg + "; SEGD_REQUIRE_SERVICES=1 makes this a failure")
	}
	t.Skip(msg)
}

// TestNATSJetStream delivers to a stream on a unique subject of the real server, with a
// simulated retry of already-published changes, and reads the stream back.
func TestNATSJetStream(t *testing.T) {
	needNATS(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	unique := fmt.Sprintf("segdtest%d", time.Now().UnixNano())
	subject := "segd.test." + unique
	stream := "SEGDTEST_" + unique
	if _, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: stream, Subjects: []string{subject}, Duplicates: time.Minute}); err != nil {
		if errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.Is(err, nats.ErrJetStreamNotEnabled) {
			if os.Getenv("SEGD_REQUIRE_SERVICES") == "1" {
				t.Fatalf("the NATS server at %s has no JetStream: %v", natsAddr, err)
			}
			t.Skipf("the NATS server at %s has no JetStream (start it with -js): %v", natsAddr, err)
		}
		t.Fatal(err)
	}
	defer js.DeleteStream(context.Background(), stream)

	e := newEnv(t)
	const n = 50
	for i := 0; i < n; i++ {
		e.feed.add(e.ws, uint32(i%5+1), "s", "seg", []string{KindEnter, KindExit}[i%2])
	}
	// A retried batch publishes the same ids again: JetStream drops them by Nats-Msg-Id.
	s, _ := newNATSSink(&NATSConfig{URL: "nats://" + natsAddr, Subject: subject, JetStream: true, Stream: stream, Timeout: Duration(5 * time.Second)})
	pre, _ := e.feed.Read(ctx, e.ws, 0, 3)
	r := &runner{m: e.m, ws: e.ws, cfg: Config{ID: "js"}}
	b, err := r.render(pre)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(ctx, b); err != nil {
		t.Fatal(err)
	}
	s.Close()

	e.put(Config{ID: "js", Kind: TypeNATS, BatchSize: 8, Traits: []string{"plan"},
		NATS: &NATSConfig{URL: "nats://" + natsAddr, Subject: subject, JetStream: true, Stream: stream}})
	waitFor(t, "cursor at head", 10*time.Second, func() bool {
		st, _ := e.m.Status(ctx, e.ws, "js")
		return st.Cursor == n
	})
	info, err := js.Stream(ctx, stream)
	if err != nil {
		t.Fatal(err)
	}
	si, _ := info.Info(ctx)
	if si.State.Msgs != n {
		t.Fatalf("stream holds %d messages, want %d (duplicates must be dropped)", si.State.Msgs, n)
	}
	cons, err := js.OrderedConsumer(ctx, stream, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	batch, err := cons.Fetch(n, jetstream.FetchMaxWait(5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	seq := uint64(0)
	for msg := range batch.Messages() {
		var d Delivery
		if err := json.Unmarshal(msg.Data(), &d); err != nil {
			t.Fatal(err)
		}
		seq++
		if d.Seq != seq || d.ID != ChangeID(e.ws, seq) || msg.Headers().Get(HeaderMsgID) != d.ID {
			t.Fatalf("message %d: %+v with %s=%q", seq, d, HeaderMsgID, msg.Headers().Get(HeaderMsgID))
		}
		if d.Profile.Identifiers["userId"][0] != fmt.Sprintf("u%d", d.Profile.ID) {
			t.Fatalf("message %d: profile %+v", seq, d.Profile)
		}
	}
	if seq != n {
		t.Fatalf("consumed %d messages, want %d", seq, n)
	}
}

// TestNATSCore publishes to a plain subject with a subscriber listening.
func TestNATSCore(t *testing.T) {
	needNATS(t)
	nc, err := nats.Connect("nats://" + natsAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	subject := fmt.Sprintf("segd.test.core%d", time.Now().UnixNano())
	sub, err := nc.SubscribeSync(subject)
	if err != nil {
		t.Fatal(err)
	}
	nc.Flush()
	e := newEnv(t)
	e.put(Config{ID: "core", Kind: TypeNATS, NATS: &NATSConfig{URL: "nats://" + natsAddr, Subject: subject}})
	for i := 0; i < 10; i++ {
		e.feed.add(e.ws, 1, "s", "seg", KindEnter)
	}
	for want := uint64(1); want <= 10; want++ {
		msg, err := sub.NextMsg(5 * time.Second)
		if err != nil {
			t.Fatalf("message %d: %v", want, err)
		}
		var d Delivery
		json.Unmarshal(msg.Data, &d)
		if d.Seq != want || msg.Header.Get(HeaderMsgID) != d.ID {
			t.Fatalf("message %d: %+v", want, d)
		}
	}
}
