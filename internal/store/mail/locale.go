package mail

import (
	"fmt"
	"strings"
	"time"
)

// catalog holds the sentences of an invitation in one language. Sentences with a %s
// take the (already joined) agency names; they are plain text, escaped by the HTML
// template where needed.
type catalog struct {
	lang string // BCP 47 tag, for <html lang> and Content-Language

	subjectAgency   string // %s = agencies
	subjectNoAgency string
	greetingName    string // %s = display name
	greeting        string
	invitedAgency   string // %s = agencies
	invitedNoAgency string
	accessHeading   string
	acceptLead      string
	acceptButton    string
	copyHint        string
	expires         string // %s = expiry, human and ISO 8601
	ignore          string
	listSeparator   string // between agency names, before the last one

	weekdays [7]string  // Sunday first, as time.Weekday
	months   [12]string // January first
	dateAt   string     // joins date and time: "at" / "om"
}

var english = catalog{
	lang:            "en",
	subjectAgency:   "Invitation to the Studio from %s",
	subjectNoAgency: "You are invited to the Studio",
	greetingName:    "Hello %s,",
	greeting:        "Hello,",
	invitedAgency:   "You have been invited to the Studio by %s.",
	invitedNoAgency: "You have been invited to the Studio.",
	accessHeading:   "Your access:",
	acceptLead:      "To accept the invitation, open this link:",
	acceptButton:    "Accept the invitation",
	copyHint:        "If the button does not work, copy this link into your browser:",
	expires:         "The link works until %s.",
	ignore:          "If you did not expect this invitation, you can ignore this email.",
	listSeparator:   " and ",
	weekdays:        [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"},
	months: [12]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"},
	dateAt: "at",
}

var dutch = catalog{
	lang:            "nl",
	subjectAgency:   "Uitnodiging voor de Studio van %s",
	subjectNoAgency: "Je bent uitgenodigd voor de Studio",
	greetingName:    "Hallo %s,",
	greeting:        "Hallo,",
	invitedAgency:   "Je bent door %s uitgenodigd voor de Studio.",
	invitedNoAgency: "Je bent uitgenodigd voor de Studio.",
	accessHeading:   "Je toegang:",
	acceptLead:      "Open deze link om de uitnodiging te accepteren:",
	acceptButton:    "Uitnodiging accepteren",
	copyHint:        "Werkt de knop niet? Kopieer dan deze link naar je browser:",
	expires:         "De link werkt tot %s.",
	ignore:          "Verwachtte je deze uitnodiging niet? Dan kun je deze e-mail negeren.",
	listSeparator:   " en ",
	weekdays:        [7]string{"zondag", "maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag"},
	months: [12]string{"januari", "februari", "maart", "april", "mei", "juni", "juli",
		"augustus", "september", "oktober", "november", "december"},
	dateAt: "om",
}

// catalogFor picks the language of locale: Dutch for "nl" and its regional variants,
// English for everything else (including the empty locale).
func catalogFor(locale string) catalog {
	lang, _, _ := strings.Cut(strings.ReplaceAll(locale, "_", "-"), "-")
	if strings.EqualFold(strings.TrimSpace(lang), "nl") {
		return dutch
	}
	return english
}

// formatExpiry writes t in UTC with the weekday and month spelled out, then in ISO
// 8601, so no reader can mistake day for month or guess the time zone:
// "Friday 9 January 2026 at 14:30 UTC (2026-01-09T14:30:00Z)".
func (c catalog) formatExpiry(t time.Time) string {
	t = t.UTC()
	return fmt.Sprintf("%s %d %s %d %s %02d:%02d UTC (%s)",
		c.weekdays[t.Weekday()], t.Day(), c.months[t.Month()-1], t.Year(),
		c.dateAt, t.Hour(), t.Minute(), t.Format(time.RFC3339))
}

// joinNames joins names as a sentence does: "A", "A and B", "A, B and C".
func (c catalog) joinNames(names []string) string {
	switch len(names) {
	case 0:
		return ""
	case 1:
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + c.listSeparator + names[len(names)-1]
}
