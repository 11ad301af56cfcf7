package message

import "testing"

func TestParseUserAgent(t *testing.T) {
	cases := []struct {
		ua   string
		want UserAgent
	}{
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			UserAgent{"desktop", "Chrome", "120.0.0.0", "Windows", "10"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
			UserAgent{"desktop", "Edge", "120.0.2210.91", "Windows", "10"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
			UserAgent{"desktop", "Firefox", "121.0", "Windows", "10"}},
		{"Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
			UserAgent{"desktop", "Internet Explorer", "11.0", "Windows", "7"}},
		{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
			UserAgent{"desktop", "Opera", "105.0.0.0", "Windows", "10"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
			UserAgent{"desktop", "Safari", "17.2", "macOS", "10.15.7"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			UserAgent{"desktop", "Chrome", "120.0.0.0", "macOS", "10.15.7"}},
		{"Mozilla/5.0 (Macintosh; Intel Mac OS X 14.2; rv:121.0) Gecko/20100101 Firefox/121.0",
			UserAgent{"desktop", "Firefox", "121.0", "macOS", "14.2"}},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			UserAgent{"desktop", "Chrome", "120.0.0.0", "Linux", ""}},
		{"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
			UserAgent{"desktop", "Firefox", "120.0", "Linux", ""}},
		{"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			UserAgent{"desktop", "Chrome", "120.0.0.0", "ChromeOS", "14541.0.0"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1.2 Mobile/15E148 Safari/604.1",
			UserAgent{"mobile", "Safari", "17.1.2", "iOS", "17.1.2"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
			UserAgent{"mobile", "Chrome", "120.0.6099.119", "iOS", "17.2"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
			UserAgent{"mobile", "Firefox", "121.0", "iOS", "16.6"}},
		{"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
			UserAgent{"tablet", "Safari", "16.6", "iOS", "16.6"}},
		{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone14,5;FBMD/iPhone;FBSN/iOS;FBSV/17.1;FBSS/3;FBID/phone;FBLC/en_US;FBOP/5;FBAV/442.0.0.39.113]",
			UserAgent{"mobile", "Facebook", "442.0.0.39.113", "iOS", "17.1"}},
		{"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36",
			UserAgent{"mobile", "Chrome", "120.0.0.0", "Android", "10"}},
		{"Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
			UserAgent{"mobile", "Samsung Internet", "23.0", "Android", "13"}},
		{"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
			UserAgent{"tablet", "Chrome", "120.0.0.0", "Android", "13"}},
		{"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
			UserAgent{"mobile", "Firefox", "121.0", "Android", "14"}},
		{"Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/UD1A.230803.041; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/120.0.6099.144 Mobile Safari/537.36",
			UserAgent{"mobile", "Android WebView", "120.0.6099.144", "Android", "14"}},
		{"Mozilla/5.0 (Linux; Android 10; HD1913) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36 EdgA/120.0.2210.115",
			UserAgent{"mobile", "Edge", "120.0.2210.115", "Android", "10"}},
		{"Mozilla/5.0 (Linux; Android 12; moto g(60)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/116.0.0.0 Mobile Safari/537.36 OPR/79.2.4195.76431",
			UserAgent{"mobile", "Opera", "79.2.4195.76431", "Android", "12"}},
		{"Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.14977",
			UserAgent{"mobile", "Edge", "15.14977", "Windows Phone", "10.0"}},
		{"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
			UserAgent{"bot", "Googlebot", "2.1", "", ""}},
		{"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
			UserAgent{"bot", "bingbot", "2.0", "", ""}},
		{"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
			UserAgent{"bot", "facebookexternalhit", "1.1", "", ""}},
		{"curl/8.4.0", UserAgent{"bot", "curl", "8.4.0", "", ""}},
		{"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 Safari/537.36",
			UserAgent{"bot", "HeadlessChrome", "120.0.6099.109", "Linux", ""}},
		{"", UserAgent{}},
		{"SomethingElse", UserAgent{}},
	}
	for _, c := range cases {
		if got := ParseUserAgent(c.ua); got != c.want {
			t.Errorf("ParseUserAgent(%.70q)\n got %+v\nwant %+v", c.ua, got, c.want)
		}
	}
}

func TestEnrich(t *testing.T) {
	cases := []struct {
		name, body string
		want       map[string]string
	}{
		{"user agent and place", `"context":{"userAgent":"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1","locale":"de-DE","timezone":"Europe/Berlin","ip":"203.0.113.9"}`,
			map[string]string{"device_type": "mobile", "browser": "Safari", "browser_version": "17.2", "os": "iOS", "os_version": "17.2", "locale": "de-DE", "timezone": "Europe/Berlin", "ip": "203.0.113.9"}},
		{"campaign object wins over url", `"context":{"campaign":{"name":"spring","source":"newsletter","medium":"email","term":"shoes","content":"hero"},"page":{"url":"https://shop.example/p?utm_source=x&utm_medium=y","path":"/p","referrer":"https://mail.example/inbox"}}`,
			map[string]string{"acquisition_source": "newsletter", "acquisition_medium": "email", "acquisition_campaign": "spring", "acquisition_term": "shoes", "acquisition_content": "hero", "page_url": "https://shop.example/p?utm_source=x&utm_medium=y", "page_path": "/p", "referrer": "https://mail.example/inbox", "referrer_domain": "mail.example"}},
		{"utm from properties.url", `"properties":{"url":"https://shop.example/sale?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=red+shoes"}`,
			map[string]string{"acquisition_source": "google", "acquisition_medium": "cpc", "acquisition_campaign": "brand", "acquisition_term": "red shoes", "page_url": "https://shop.example/sale?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=red+shoes", "page_path": "/sale"}},
		{"gclid", `"context":{"page":{"url":"https://shop.example/?gclid=abc"}}`,
			map[string]string{"acquisition_source": "google", "acquisition_medium": "cpc", "page_url": "https://shop.example/?gclid=abc", "page_path": "/"}},
		{"organic search referrer", `"context":{"page":{"url":"https://shop.example/a","referrer":"https://www.google.com/"}}`,
			map[string]string{"acquisition_source": "google.com", "acquisition_medium": "organic", "page_url": "https://shop.example/a", "page_path": "/a", "referrer": "https://www.google.com/", "referrer_domain": "google.com"}},
		{"social referrer", `"context":{"page":{"url":"https://shop.example/a","referrer":"https://t.co/xyz"}}`,
			map[string]string{"acquisition_source": "t.co", "acquisition_medium": "social", "page_url": "https://shop.example/a", "page_path": "/a", "referrer": "https://t.co/xyz", "referrer_domain": "t.co"}},
		{"internal referrer is no source", `"context":{"page":{"url":"https://shop.example/b","referrer":"https://shop.example/a"}}`,
			map[string]string{"page_url": "https://shop.example/b", "page_path": "/b", "referrer": "https://shop.example/a", "referrer_domain": "shop.example"}},
		{"mobile library context", `"context":{"os":{"name":"iOS","version":"17.1"},"device":{"type":"ios","model":"iPhone14,2"}}`,
			map[string]string{"os": "iOS", "os_version": "17.1", "device_type": "mobile"}},
		{"tablet model", `"context":{"device":{"type":"ios","model":"iPad13,1"}}`,
			map[string]string{"device_type": "tablet"}},
		{"nothing to derive", `"context":{"library":{"name":"analytics-go"}}`, nil},
	}
	for _, c := range cases {
		m, err := DecodeCall(Page, []byte(`{"userId":"u",`+c.body+`}`), recv, DefaultLimits())
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(m.Enriched) != len(c.want) {
			t.Errorf("%s: enriched %v, want %v", c.name, m.Enriched, c.want)
			continue
		}
		for k, v := range c.want {
			if m.Enriched.Get(k) != v {
				t.Errorf("%s: %s = %q, want %q", c.name, k, m.Enriched.Get(k), v)
			}
		}
	}
}
