package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// receiver is the webhook endpoint: it records when the first enter of each probe profile
// arrives.
type receiver struct {
	srv *http.Server
	url string

	mu      sync.Mutex
	arrived map[string]time.Time // probe userId → first enter delivered
	changes atomic.Int64
	posts   atomic.Int64
}

type hookBody struct {
	Changes []struct {
		Kind    string `json:"kind"`
		Profile struct {
			Identifiers map[string][]string `json:"identifiers"`
		} `json:"profile"`
	} `json:"changes"`
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rc := &receiver{arrived: map[string]time.Time{}, url: "http://" + ln.Addr().String() + "/hook"}
	rc.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		now := time.Now()
		var body hookBody
		if err := json.Unmarshal(b, &body); err != nil {
			w.WriteHeader(500)
			return
		}
		rc.posts.Add(1)
		rc.changes.Add(int64(len(body.Changes)))
		rc.mu.Lock()
		for _, c := range body.Changes {
			if c.Kind != "enter" {
				continue
			}
			for _, id := range c.Profile.Identifiers["userId"] {
				if strings.HasPrefix(id, "probe-") {
					if _, ok := rc.arrived[id]; !ok {
						rc.arrived[id] = now
					}
				}
			}
		}
		rc.mu.Unlock()
		w.WriteHeader(200)
	})}
	go rc.srv.Serve(ln)
	return rc, nil
}

func (rc *receiver) arrival(id string) (time.Time, bool) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	t, ok := rc.arrived[id]
	return t, ok
}

// ---- load ----

var trackNames = []string{"Product Viewed", "Product Viewed", "Product Viewed", "Product Added", "Checkout Started", "Order Completed", "Email Opened", "Email Clicked"}
var categoryNames = []string{"electronics", "fashion", "beauty", "home", "sports", "books", "toys", "grocery"}

// event returns one call of an existing customer of the data set (userIds u10000000…).
func event(r *rand.Rand, customers int, id string, t time.Time) map[string]any {
	m := map[string]any{"messageId": id, "userId": fmt.Sprintf("u%d", 10_000_000+r.IntN(customers)),
		"timestamp": t.Format(time.RFC3339Nano),
		"context":   map[string]any{"ip": "203.0.113.7", "locale": "vi-VN", "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)"}}
	if r.IntN(5) == 0 {
		m["type"], m["name"] = "page", "Pricing"
		m["properties"] = map[string]any{"path": "/pricing", "url": "https://shop.example.com/pricing", "title": "Membership pricing"}
		return m
	}
	name := trackNames[r.IntN(len(trackNames))]
	m["type"], m["event"] = "track", name
	cat := categoryNames[r.IntN(len(categoryNames))]
	price := float64(500+r.IntN(20000)) / 100
	switch name {
	case "Order Completed":
		m["properties"] = map[string]any{"order_id": id, "revenue": price * 2, "total": price * 2, "currency": "USD"}
	case "Email Opened", "Email Clicked":
		m["properties"] = map[string]any{"campaign_id": "c-rt", "subject": "Hello"}
	default:
		m["properties"] = map[string]any{"product_id": fmt.Sprintf("p-%d", r.IntN(5000)), "category": cat, "price": price}
	}
	return m
}

// probe returns an order of a new person: it enters at least the revenue segments at once.
func probe(id, user string, t time.Time) map[string]any {
	return map[string]any{"type": "track", "event": "Order Completed", "messageId": id, "userId": user,
		"timestamp":  t.Format(time.RFC3339Nano),
		"properties": map[string]any{"order_id": id, "revenue": 1200.0, "total": 1200.0, "currency": "USD"}}
}

func post(client *http.Client, url, key string, body []byte) (int, error) {
	req, err := http.NewRequest("POST", url+"/v1/batch", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(key, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// rateResult is one fixed-rate run.
type rateResult struct {
	target, achieved float64 // events/s
	probes, missing  int
	lat              []time.Duration // ack → webhook, per probe
	acked            []time.Time     // when each probe of lat was acknowledged
	late             int             // batches that started more than one interval late
}

// fixedRate sends `rate` events/s for d in batches every tick (open loop: a batch is due at
// its tick whether or not earlier ones were answered), one probe per batch, then waits up to
// 10 s for the probes' webhooks.
func fixedRate(url string, rc *receiver, customers int, rate int, d time.Duration, tag string) rateResult {
	const tick = 10 * time.Millisecond
	per := max(rate*int(tick)/int(time.Second), 2)
	type ack struct {
		user string
		at   time.Time
	}
	var mu sync.Mutex
	var acks []ack
	var sent atomic.Int64
	jobs := make(chan int, 64)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: time.Minute}
			for n := range jobs {
				now := time.Now()
				msgs := make([]map[string]any, 0, per)
				for i := 0; i < per-1; i++ {
					msgs = append(msgs, event(r, customers, fmt.Sprintf("%s-%d-%d", tag, n, i), now))
				}
				user := fmt.Sprintf("probe-%s-%d", tag, n)
				msgs = append(msgs, probe(fmt.Sprintf("%s-%d-p", tag, n), user, now))
				body, _ := json.Marshal(map[string]any{"batch": msgs})
				code, err := post(client, url, writeKey, body)
				at := time.Now()
				if err != nil || code != 200 {
					continue
				}
				sent.Add(int64(len(msgs)))
				mu.Lock()
				acks = append(acks, ack{user, at})
				mu.Unlock()
			}
		}(w)
	}
	res := rateResult{target: float64(per) * float64(time.Second/tick)}
	start := time.Now()
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * tick)
		if due.Sub(start) >= d {
			break
		}
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		} else if -w > tick {
			res.late++
		}
		jobs <- n
	}
	close(jobs)
	wg.Wait()
	res.achieved = float64(sent.Load()) / time.Since(start).Seconds()
	deadline := time.Now().Add(10 * time.Second)
	for _, a := range acks {
		for {
			if t, ok := rc.arrival(a.user); ok {
				res.lat = append(res.lat, t.Sub(a.at))
				res.acked = append(res.acked, a.at)
				break
			}
			if time.Now().After(deadline) {
				res.missing++
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	res.probes = len(acks)
	return res
}

// maxThroughput sends as fast as conns connections can (closed loop) for d, or, when total is
// positive, until total events are acknowledged, and returns the acknowledged events and how
// long they took.
func maxThroughput(url string, customers, conns, batch int, d time.Duration, total int, tag string) (int64, time.Duration) {
	var sent, claimed atomic.Int64
	deadline := time.Now().Add(d)
	more := func() bool {
		if total > 0 {
			return claimed.Add(int64(batch)) <= int64(total)
		}
		return time.Now().Before(deadline)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: time.Minute}
			for n := 0; more(); n++ {
				now := time.Now()
				msgs := make([]map[string]any, batch)
				for i := range msgs {
					msgs[i] = event(r, customers, fmt.Sprintf("%s-%d-%d-%d", tag, c, n, i), now)
				}
				body, _ := json.Marshal(map[string]any{"batch": msgs})
				if code, err := post(client, url, writeKey, body); err == nil && code == 200 {
					sent.Add(int64(batch))
				}
			}
		}(c)
	}
	wg.Wait()
	return sent.Load(), time.Since(start)
}

// personalise sends rate GET /v1/profiles/segments requests/s for d with the read key and
// returns the client-side latencies and the achieved rate.
func personalise(url string, customers, rate int, d time.Duration) ([]time.Duration, float64, int) {
	const tick = 5 * time.Millisecond
	per := max(rate*int(tick)/int(time.Second), 1)
	jobs := make(chan struct{}, 4096)
	var mu sync.Mutex
	var lat []time.Duration
	var fails atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: time.Minute}
			var local []time.Duration
			for range jobs {
				req, _ := http.NewRequest("GET", fmt.Sprintf("%s/v1/profiles/segments?userId=u%d", url, 10_000_000+r.IntN(customers)), nil)
				req.SetBasicAuth(readKey, "")
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					fails.Add(1)
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					fails.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, local...)
			mu.Unlock()
		}(w)
	}
	start := time.Now()
	for n := 0; ; n++ {
		due := start.Add(time.Duration(n) * tick)
		if due.Sub(start) >= d {
			break
		}
		if w := time.Until(due); w > 0 {
			time.Sleep(w)
		}
		for i := 0; i < per; i++ {
			jobs <- struct{}{}
		}
	}
	close(jobs)
	wg.Wait()
	return lat, float64(len(lat)) / time.Since(start).Seconds(), int(fails.Load())
}

// probeLive sends one order of a new person and waits up to 10 s for the personalisation
// endpoint to list a segment for them: live has then processed everything queued before it.
func probeLive(s *server, user string) (bool, error) {
	body, _ := json.Marshal(map[string]any{"batch": []any{probe(user, user, time.Now())}})
	if code, err := post(s.client, s.url, writeKey, body); err != nil || code != 200 {
		return false, fmt.Errorf("probe: %d %v", code, err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequest("GET", s.url+"/v1/profiles/segments?userId="+user, nil)
		req.SetBasicAuth(readKey, "")
		resp, err := s.client.Do(req)
		if err != nil {
			return false, err
		}
		var out struct {
			Segments []json.RawMessage `json:"segments"`
		}
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err == nil && len(out.Segments) > 0 {
			return true, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return false, nil
}
