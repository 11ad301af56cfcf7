package audit

import (
	"strings"
)

// Channel is a way of contacting a person: "email", "sms", "push", "phone", "whatsapp", "ads" …
type Channel string

// Common channels.
const (
	Email Channel = "email"
	SMS   Channel = "sms"
	Push  Channel = "push"
	Phone Channel = "phone"
)

// Consent reports whether a profile with the traits consented to be contacted on channel.
// The rule is deliberately strict (absent means no): a destination for a channel must only send
// a profile when Consent is true.
//
// A profile consents to channel c when its traits hold any of, checked in this order,
//
//	consent_<c>      (consent_email, consent_sms …)
//	<c>_opt_in       (email_opt_in, as the demo data and many CRMs name it)
//	<c>_optin, <c>_consent
//
// with a true value: the boolean true, the numbers 1, or the strings "true", "yes", "y", "1",
// "opt-in", "opted_in", "granted", "subscribed" (case-insensitive). The first of these traits
// present decides, so a newer explicit consent_email=false overrides a stale email_opt_in=true.
// A trait "unsubscribed" or "<c>_unsubscribed" that is true revokes consent whatever the rest
// says.
func Consent(traits map[string]any, channel Channel) bool {
	c := strings.ToLower(string(channel))
	if c == "" {
		return false
	}
	if truthy(traits["unsubscribed"]) || truthy(traits[c+"_unsubscribed"]) {
		return false
	}
	for _, k := range []string{"consent_" + c, c + "_opt_in", c + "_optin", c + "_consent"} {
		if v, ok := traits[k]; ok && v != nil {
			return truthy(v)
		}
	}
	return false
}

// ConsentTraits lists the trait names Consent reads for channel, for documentation and for
// destinations that show why a profile was skipped.
func ConsentTraits(channel Channel) []string {
	c := strings.ToLower(string(channel))
	return []string{"consent_" + c, c + "_opt_in", c + "_optin", c + "_consent", "unsubscribed", c + "_unsubscribed"}
}

func truthy(v any) bool {
	switch x := v.(type) {
	case bool:
		return x
	case float64:
		return x == 1
	case int:
		return x == 1
	case int64:
		return x == 1
	case string:
		switch strings.ToLower(strings.TrimSpace(x)) {
		case "true", "yes", "y", "1", "opt-in", "opt_in", "opted_in", "opted-in", "granted", "subscribed":
			return true
		}
	}
	return false
}
