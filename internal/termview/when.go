package termview

// When is text when cond holds and "" otherwise: a part of a line shown
// only when it says something ("2 synced, " when wheels were synced).
func When(cond bool, text string) string {
	if cond {
		return text
	}
	return ""
}
