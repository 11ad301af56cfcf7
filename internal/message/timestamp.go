package message

import (
	"errors"
	"time"
)

// Event time follows the Segment spec's clock-skew correction
// (https://segment.com/docs/connections/spec/common/#timestamps):
//
//	timestamp = receivedAt − (sentAt − originalTimestamp)
//
// sentAt and receivedAt are taken to be the same instant, so their difference is the client's
// clock skew. segd applies it when the message carries originalTimestamp and sentAt (sentAt may
// come from the batch envelope) and no explicit timestamp. An explicit timestamp is the
// historical-import case the HTTP API documents ("add the timestamp argument") and is kept as
// sent; the server libraries (analytics-go and friends) send timestamp that way. With neither,
// the event happened when it was received.
func eventTime(timestamp, originalTimestamp, sentAt, receivedAt time.Time) time.Time {
	switch {
	case !timestamp.IsZero():
		return timestamp
	case !originalTimestamp.IsZero() && !sentAt.IsZero():
		return receivedAt.Add(-sentAt.Sub(originalTimestamp)).UTC()
	default:
		return receivedAt
	}
}

var errBadTime = errors.New("not an ISO-8601 time")

// parseTime parses the ISO-8601 forms clients send: RFC 3339 with or without fractional
// seconds, a space instead of T, a missing zone (UTC), zones as Z, ±hh:mm, ±hhmm or ±hh,
// unpadded months and days ("2015-2-02T00:30:08.276Z" appears in Segment's own docs) and a bare
// date. The result is UTC. It is hand-written because time.Parse needs one layout per variant
// and this sits on the ingestion hot path.
func parseTime(s string) (time.Time, error) {
	p := timeParser{s: s}
	year := p.digits(4, 4)
	if !p.eat('-') {
		return time.Time{}, errBadTime
	}
	month := p.digits(1, 2)
	if !p.eat('-') {
		return time.Time{}, errBadTime
	}
	day := p.digits(1, 2)
	if p.bad || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) {
		return time.Time{}, errBadTime
	}
	if p.i == len(s) {
		return time.Date(year, time.Month(month), day, 0, 0, 0, 0, time.UTC), nil
	}
	if !p.eat('T') && !p.eat('t') && !p.eat(' ') {
		return time.Time{}, errBadTime
	}
	hour := p.digits(2, 2)
	if !p.eat(':') {
		return time.Time{}, errBadTime
	}
	minute := p.digits(2, 2)
	sec, nsec := 0, 0
	if p.eat(':') {
		sec = p.digits(2, 2)
		if p.eat('.') || p.eat(',') {
			start := p.i
			for p.i < len(s) && s[p.i] >= '0' && s[p.i] <= '9' {
				if p.i-start < 9 {
					nsec = nsec*10 + int(s[p.i]-'0')
				}
				p.i++
			}
			n := p.i - start
			if n == 0 {
				return time.Time{}, errBadTime
			}
			for ; n < 9; n++ {
				nsec *= 10
			}
		}
	}
	if p.bad || hour > 23 || minute > 59 || sec > 60 {
		return time.Time{}, errBadTime
	}
	if sec == 60 { // a leap second: Go has none, take the next instant
		sec = 59
		nsec = 999999999
	}
	offset := 0
	if p.i < len(s) {
		switch s[p.i] {
		case 'Z', 'z':
			p.i++
		case '+', '-':
			sign := 1
			if s[p.i] == '-' {
				sign = -1
			}
			p.i++
			oh := p.digits(2, 2)
			om := 0
			if p.eat(':') {
				om = p.digits(2, 2)
			} else if p.i < len(s) {
				om = p.digits(2, 2)
			}
			if p.bad || oh > 23 || om > 59 {
				return time.Time{}, errBadTime
			}
			offset = sign * (oh*3600 + om*60)
		default:
			return time.Time{}, errBadTime
		}
	}
	if p.i != len(s) {
		return time.Time{}, errBadTime
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	return t.Add(-time.Duration(offset) * time.Second), nil
}

type timeParser struct {
	s   string
	i   int
	bad bool
}

func (p *timeParser) eat(c byte) bool {
	if p.i < len(p.s) && p.s[p.i] == c {
		p.i++
		return true
	}
	return false
}

// digits reads between min and max decimal digits.
func (p *timeParser) digits(min, max int) int {
	n, v := 0, 0
	for n < max && p.i < len(p.s) && p.s[p.i] >= '0' && p.s[p.i] <= '9' {
		v = v*10 + int(p.s[p.i]-'0')
		p.i++
		n++
	}
	if n < min {
		p.bad = true
	}
	return v
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ParseTime parses the ISO-8601 forms the decoder accepts (see parseTime) and returns UTC.
// Importers use it so a CSV timestamp means what it would mean in a message.
func ParseTime(s string) (time.Time, error) {
	t, err := parseTime(s)
	if err != nil {
		return time.Time{}, errBadTime
	}
	return t, nil
}
