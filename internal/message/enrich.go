package message

import "strings"

// Keys of Message.Enriched. Absent keys are unknown; values are never empty.
const (
	EnrichDeviceType          = "device_type" // desktop, mobile, tablet, bot
	EnrichBrowser             = "browser"
	EnrichBrowserVersion      = "browser_version"
	EnrichOS                  = "os"
	EnrichOSVersion           = "os_version"
	EnrichAcquisitionSource   = "acquisition_source"
	EnrichAcquisitionMedium   = "acquisition_medium"
	EnrichAcquisitionCampaign = "acquisition_campaign"
	EnrichAcquisitionTerm     = "acquisition_term"
	EnrichAcquisitionContent  = "acquisition_content"
	EnrichPageURL             = "page_url"
	EnrichPagePath            = "page_path"
	EnrichReferrer            = "referrer"
	EnrichReferrerDomain      = "referrer_domain"
	EnrichLocale              = "locale"
	EnrichTimezone            = "timezone"
	EnrichIP                  = "ip"
)

// enrich derives the Enriched fields from the message's context (and, for page calls sent by
// analytics.js, its properties). It never changes Context.
func enrich(m *Message) Enriched {
	// Collected on the stack and copied out at the end: a map made for every field that might
	// come cost a kilobyte per message, most of it empty.
	var out fields
	set := func(k, v string) {
		if v = strings.TrimSpace(v); v != "" {
			out.set(k, v)
		}
	}
	ctx := m.Context

	if ua := str(ctx, "userAgent"); ua != "" {
		p := parseUserAgentCached(ua)
		set(EnrichDeviceType, p.DeviceType)
		set(EnrichBrowser, p.Browser)
		set(EnrichBrowserVersion, p.BrowserVersion)
		set(EnrichOS, p.OS)
		set(EnrichOSVersion, p.OSVersion)
	}
	// Mobile libraries send no user agent but describe the device and OS themselves.
	if os, _ := ctx["os"].(map[string]any); os != nil {
		if !out.has(EnrichOS) {
			set(EnrichOS, normalOS(str(os, "name")))
			set(EnrichOSVersion, str(os, "version"))
		}
	}
	if !out.has(EnrichDeviceType) {
		if dev, _ := ctx["device"].(map[string]any); dev != nil {
			set(EnrichDeviceType, deviceFromContext(str(dev, "type"), str(dev, "model")))
		}
	}

	page, _ := ctx["page"].(map[string]any)
	pageURL := firstNonEmpty(str(page, "url"), str(m.Properties, "url"))
	set(EnrichPageURL, pageURL)
	var u urlParts
	if pageURL != "" {
		u = splitURL(pageURL)
	}
	path := firstNonEmpty(str(page, "path"), str(m.Properties, "path"))
	if path == "" {
		path = u.path
	}
	set(EnrichPagePath, path)
	referrer := firstNonEmpty(str(page, "referrer"), str(m.Properties, "referrer"))
	set(EnrichReferrer, referrer)
	refDomain := ""
	if referrer != "" {
		if ru := splitURL(referrer); ru.ok {
			refDomain = strings.TrimPrefix(strings.ToLower(ru.host), "www.")
		}
	}
	set(EnrichReferrerDomain, refDomain)

	// Acquisition: context.campaign (analytics.js fills it from the UTM parameters) wins, then
	// the UTM parameters of the page URL, then click ids, then the referrer.
	camp, _ := ctx["campaign"].(map[string]any)
	set(EnrichAcquisitionSource, firstNonEmpty(str(camp, "source"), u.get("utm_source")))
	set(EnrichAcquisitionMedium, firstNonEmpty(str(camp, "medium"), u.get("utm_medium")))
	set(EnrichAcquisitionCampaign, firstNonEmpty(str(camp, "name"), u.get("utm_campaign")))
	set(EnrichAcquisitionTerm, firstNonEmpty(str(camp, "term"), u.get("utm_term")))
	set(EnrichAcquisitionContent, firstNonEmpty(str(camp, "content"), u.get("utm_content")))
	if !out.has(EnrichAcquisitionSource) {
		switch {
		case u.get("gclid") != "":
			set(EnrichAcquisitionSource, "google")
			out.setDefault(EnrichAcquisitionMedium, "cpc")
		case u.get("fbclid") != "":
			set(EnrichAcquisitionSource, "facebook")
			out.setDefault(EnrichAcquisitionMedium, "social")
		case refDomain != "" && (!u.ok || strings.TrimPrefix(strings.ToLower(u.host), "www.") != refDomain):
			set(EnrichAcquisitionSource, refDomain)
			out.setDefault(EnrichAcquisitionMedium, referrerMedium(refDomain))
		}
	}

	set(EnrichLocale, str(ctx, "locale"))
	set(EnrichTimezone, str(ctx, "timezone"))
	set(EnrichIP, str(ctx, "ip"))
	return out.slice()
}

// fields are the enriched fields collected so far, every key once: kv holds one per Enrich*
// key constant (17; grow it with the list). A fixed array keeps them on the stack, where a
// slice appended to escaped to the heap.
type fields struct {
	n  int
	kv [17][2]string
}

func (f *fields) has(k string) bool {
	for i := range f.n {
		if f.kv[i][0] == k {
			return true
		}
	}
	return false
}

func (f *fields) set(k, v string) {
	for i := range f.n {
		if f.kv[i][0] == k {
			f.kv[i][1] = v
			return
		}
	}
	f.kv[f.n] = [2]string{k, v}
	f.n++
}

func (f *fields) setDefault(k, v string) {
	if !f.has(k) {
		f.set(k, v)
	}
}

func (f *fields) slice() Enriched {
	if f.n == 0 {
		return nil
	}
	out := make(Enriched, f.n)
	for i := range f.n {
		out[i] = EnrichedField{f.kv[i][0], f.kv[i][1]}
	}
	return out
}

var searchEngines = []string{"google.", "bing.", "duckduckgo.", "yahoo.", "baidu.", "yandex.", "ecosia.", "search.brave."}
var socialSites = []string{"facebook.", "t.co", "twitter.", "x.com", "linkedin.", "lnkd.in", "instagram.", "reddit.", "pinterest.", "tiktok.", "youtube.", "m.facebook."}

// referrerMedium classifies an external referrer: organic search, social or plain referral.
func referrerMedium(domain string) string {
	for _, s := range searchEngines {
		if strings.HasPrefix(domain, s) || strings.Contains(domain, "."+s) {
			return "organic"
		}
	}
	for _, s := range socialSites {
		if domain == s || strings.HasPrefix(domain, s) || strings.Contains(domain, "."+s) {
			return "social"
		}
	}
	return "referral"
}

func normalOS(name string) string {
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "ios", "iphone os", "ipados":
		return "iOS"
	case "android":
		return "Android"
	case "mac os x", "macos", "mac os", "os x":
		return "macOS"
	case "windows":
		return "Windows"
	case "linux":
		return "Linux"
	case "chrome os", "chromeos", "cros":
		return "ChromeOS"
	}
	return name
}

// deviceFromContext maps the mobile libraries' context.device to a device type.
func deviceFromContext(typ, model string) string {
	switch {
	case strings.HasPrefix(model, "iPad") || strings.Contains(strings.ToLower(typ), "tablet"):
		return "tablet"
	}
	switch strings.ToLower(typ) {
	case "ios", "android", "phone", "mobile":
		return "mobile"
	case "desktop", "mac", "macos", "windows", "linux":
		return "desktop"
	}
	return ""
}

func str(m map[string]any, k string) string {
	if m == nil {
		return ""
	}
	s, _ := m[k].(string)
	return s
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
