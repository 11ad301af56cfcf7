package message

import "strings"

// UserAgent is what segd reads from a User-Agent header. Empty fields are unknown.
type UserAgent struct {
	DeviceType     string // desktop, mobile, tablet or bot
	Browser        string // Chrome, Safari, Firefox, Edge, Opera, Samsung Internet, ...
	BrowserVersion string
	OS             string // Windows, macOS, iOS, Android, Linux, ChromeOS, ...
	OSVersion      string
}

// ParseUserAgent classifies a User-Agent string. It is a small hand-written parser (a table of
// substrings tested in order) rather than a dependency: segd needs five coarse fields for
// segmentation, not a device database, and it runs once per event on the ingestion path.
func ParseUserAgent(ua string) UserAgent {
	var r UserAgent
	if ua == "" {
		return r
	}
	lower := strings.ToLower(ua)
	if name, ok := botName(ua, lower); ok {
		r.DeviceType = "bot"
		r.Browser = name
		r.BrowserVersion = versionAfter(ua, name+"/")
		r.OS, r.OSVersion = parseOS(ua)
		return r
	}
	r.OS, r.OSVersion = parseOS(ua)
	r.Browser, r.BrowserVersion = parseBrowser(ua)
	r.DeviceType = deviceType(ua, lower, r.OS)
	return r
}

var botMarkers = []string{
	"bot", "crawler", "spider", "slurp", "facebookexternalhit", "headlesschrome",
	"curl/", "wget/", "python-requests", "python-urllib", "go-http-client", "lighthouse",
	"pingdom", "uptimerobot", "httpclient", "scrapy", "phantomjs",
}

// botName reports whether ua is an automated client and, if so, its product name.
func botName(ua, lower string) (string, bool) {
	for _, m := range botMarkers {
		i := strings.Index(lower, m)
		if i < 0 {
			continue
		}
		if m == "headlesschrome" {
			return "HeadlessChrome", true
		}
		// The product token holding the marker, e.g. "Googlebot" in "compatible; Googlebot/2.1;".
		start := i
		for start > 0 && isTokenByte(ua[start-1]) {
			start--
		}
		end := i
		for end < len(ua) && isTokenByte(ua[end]) {
			end++
		}
		name := ua[start:end]
		if name == "" {
			name = "bot"
		}
		return name, true
	}
	return "", false
}

func isTokenByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// browsers are tested in order: Chromium derivatives carry "Chrome/" and "Safari/" too, and
// Chrome carries "Safari/", so the more specific tokens come first.
var browsers = []struct{ token, name string }{
	{"EdgiOS/", "Edge"}, {"EdgA/", "Edge"}, {"Edg/", "Edge"}, {"Edge/", "Edge"},
	{"OPR/", "Opera"}, {"OPiOS/", "Opera"}, {"OPT/", "Opera"}, {"Opera/", "Opera"},
	{"SamsungBrowser/", "Samsung Internet"},
	{"YaBrowser/", "Yandex Browser"},
	{"UCBrowser/", "UC Browser"},
	{"Vivaldi/", "Vivaldi"},
	{"Brave/", "Brave"},
	{"DuckDuckGo/", "DuckDuckGo"},
	{"FBAV/", "Facebook"}, {"Instagram ", "Instagram"},
	{"FxiOS/", "Firefox"}, {"Firefox/", "Firefox"},
	{"CriOS/", "Chrome"},
	{"Chromium/", "Chromium"},
	{"Chrome/", "Chrome"},
	{"MSIE ", "Internet Explorer"},
}

func parseBrowser(ua string) (string, string) {
	for _, b := range browsers {
		if strings.Contains(ua, b.token) {
			if b.name == "Chrome" && strings.Contains(ua, "; wv)") {
				return "Android WebView", versionAfter(ua, b.token)
			}
			return b.name, versionAfter(ua, b.token)
		}
	}
	if strings.Contains(ua, "Trident/") {
		return "Internet Explorer", versionAfter(ua, "rv:")
	}
	if strings.Contains(ua, "Safari/") || strings.Contains(ua, "AppleWebKit/") && (strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad")) {
		return "Safari", versionAfter(ua, "Version/")
	}
	return "", ""
}

func parseOS(ua string) (string, string) {
	switch {
	case strings.Contains(ua, "Windows Phone"):
		return "Windows Phone", versionAfter(ua, "Windows Phone ")
	case strings.Contains(ua, "Windows"):
		return "Windows", windowsVersion(versionAfter(ua, "Windows NT "))
	case strings.Contains(ua, "iPhone") || strings.Contains(ua, "iPad") || strings.Contains(ua, "iPod"):
		v := versionAfter(ua, "iPhone OS ")
		if v == "" {
			v = versionAfter(ua, "CPU OS ")
		}
		return "iOS", v
	case strings.Contains(ua, "Android"):
		return "Android", versionAfter(ua, "Android ")
	case strings.Contains(ua, "CrOS"):
		// "CrOS x86_64 14541.0.0": the platform version follows the architecture.
		i := strings.Index(ua, "CrOS ")
		if i >= 0 {
			rest := ua[i+len("CrOS "):]
			if sp := strings.IndexByte(rest, ' '); sp >= 0 {
				return "ChromeOS", versionAfter(rest[sp:], " ")
			}
		}
		return "ChromeOS", ""
	case strings.Contains(ua, "Mac OS X") || strings.Contains(ua, "Macintosh"):
		return "macOS", versionAfter(ua, "Mac OS X ")
	case strings.Contains(ua, "Linux") || strings.Contains(ua, "X11"):
		return "Linux", ""
	}
	return "", ""
}

func windowsVersion(nt string) string {
	switch nt {
	case "10.0":
		return "10" // Windows 11 still says NT 10.0
	case "6.3":
		return "8.1"
	case "6.2":
		return "8"
	case "6.1":
		return "7"
	case "6.0":
		return "Vista"
	case "5.1", "5.2":
		return "XP"
	}
	return nt
}

func deviceType(ua, lower, os string) string {
	switch {
	case strings.Contains(ua, "iPad") || strings.Contains(lower, "tablet") ||
		strings.Contains(ua, "Kindle") || strings.Contains(ua, "Silk/"):
		return "tablet"
	case os == "Android":
		if strings.Contains(ua, "Mobile") {
			return "mobile"
		}
		return "tablet"
	case os == "iOS" || os == "Windows Phone" || strings.Contains(ua, "Mobile") || strings.Contains(ua, "Mobi"):
		return "mobile"
	case os == "Windows" || os == "macOS" || os == "Linux" || os == "ChromeOS":
		return "desktop"
	}
	return ""
}

// versionAfter returns the version that follows token in ua: digits, dots and underscores
// (iOS and macOS write 17_1_2), with underscores turned into dots.
func versionAfter(ua, token string) string {
	i := strings.Index(ua, token)
	if i < 0 {
		return ""
	}
	rest := ua[i+len(token):]
	n := 0
	for n < len(rest) && (rest[n] >= '0' && rest[n] <= '9' || rest[n] == '.' || rest[n] == '_') {
		n++
	}
	v := strings.Trim(rest[:n], "._")
	return strings.ReplaceAll(v, "_", ".")
}
