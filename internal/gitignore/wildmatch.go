package gitignore

// This file implements git's wildmatch with the WM_PATHNAME flag, the glob
// dialect of .gitignore files: '*' and '?' never match '/', "[...]" never
// matches '/', and "**" matches across directories only when it forms a
// whole path component ("**/x", "x/**", "x/**/y").

type wmResult int

const (
	wmMatch wmResult = iota
	wmNoMatch
	wmAbortAll        // no suffix of the text can match: stop every star loop
	wmAbortToStarStar // only a "**" further out may still match
)

// wildmatch reports whether text matches pattern in WM_PATHNAME mode.
func wildmatch(pattern, text string) bool {
	return dowild(pattern, 0, text) == wmMatch
}

func dowild(p string, start int, text string) wmResult {
	// start is the index in p where this call begins; p[:start] is needed to
	// look at the character before a "**".
	i := start
	for ; i < len(p); i++ {
		pc := p[i]
		if len(text) == 0 && pc != '*' {
			return wmAbortAll
		}
		switch pc {
		case '\\':
			i++
			if i >= len(p) {
				// A trailing backslash matches nothing.
				return wmNoMatch
			}
			if text[0] != p[i] {
				return wmNoMatch
			}
		case '?':
			if text[0] == '/' {
				return wmNoMatch
			}
		case '*':
			matchSlash := false
			if i+1 < len(p) && p[i+1] == '*' {
				prevOK := i == 0 || p[i-1] == '/'
				for i+1 < len(p) && p[i+1] == '*' {
					i++
				}
				rest := p[i+1:]
				nextOK := rest == "" || rest[0] == '/' || (len(rest) >= 2 && rest[0] == '\\' && rest[1] == '/')
				if prevOK && nextOK {
					// "**/" may match zero directories.
					if rest != "" && rest[0] == '/' && dowild(p, i+2, text) == wmMatch {
						return wmMatch
					}
					matchSlash = true
				}
			}
			i++ // now at the character after the star run
			if i >= len(p) {
				// A trailing "**" matches everything; a trailing "*" only the
				// rest of one path component.
				if !matchSlash && indexByte(text, '/') >= 0 {
					return wmAbortToStarStar
				}
				return wmMatch
			}
			if !matchSlash && p[i] == '/' {
				// "*/": the star must stop at the next slash.
				s := indexByte(text, '/')
				if s < 0 {
					return wmAbortAll
				}
				text = text[s:]
				// let the loop compare p[i] == '/' with text[0]
				i--
				continue
			}
			for len(text) > 0 {
				r := dowild(p, i, text)
				if r != wmNoMatch {
					if !matchSlash || r != wmAbortToStarStar {
						return r
					}
				} else if !matchSlash && text[0] == '/' {
					return wmAbortToStarStar
				}
				text = text[1:]
			}
			return wmAbortAll
		case '[':
			n, ok, abort := matchClass(p, i, text[0])
			if abort {
				return wmAbortAll
			}
			if !ok || text[0] == '/' {
				return wmNoMatch
			}
			i = n
		default:
			if text[0] != pc {
				return wmNoMatch
			}
		}
		text = text[1:]
	}
	if len(text) > 0 {
		return wmNoMatch
	}
	return wmMatch
}

// matchClass matches c against the bracket expression starting at p[open]
// == '['. It returns the index of the closing ']', whether c matched, and
// abort when the expression is malformed (unterminated or an unknown
// "[:class:]"), which makes the whole pattern fail, as in git.
func matchClass(p string, open int, c byte) (end int, matched bool, abort bool) {
	i := open + 1
	at := func(k int) byte {
		if k < len(p) {
			return p[k]
		}
		return 0
	}
	pc := at(i)
	if pc == '^' {
		pc = '!'
	}
	negated := pc == '!'
	if negated {
		i++
		pc = at(i)
	}
	var prev byte
	for {
		if pc == 0 {
			return 0, false, true
		}
		switch {
		case pc == '\\':
			i++
			pc = at(i)
			if pc == 0 {
				return 0, false, true
			}
			if c == pc {
				matched = true
			}
		case pc == '-' && prev != 0 && at(i+1) != 0 && at(i+1) != ']':
			i++
			pc = at(i)
			if pc == '\\' {
				i++
				pc = at(i)
				if pc == 0 {
					return 0, false, true
				}
			}
			if c <= pc && c >= prev {
				matched = true
			}
			pc = 0 // a range end cannot start another range
		case pc == '[' && at(i+1) == ':':
			s := i + 2
			j := s
			for j < len(p) && p[j] != ']' {
				j++
			}
			if j >= len(p) {
				return 0, false, true
			}
			if j-s-1 < 0 || p[j-1] != ':' {
				// No ":]": a plain '['.
				if c == '[' {
					matched = true
				}
				break
			}
			name := p[s : j-1]
			ok, known := charClass(name, c)
			if !known {
				return 0, false, true
			}
			if ok {
				matched = true
			}
			i = j
			pc = 0
		default:
			if c == pc {
				matched = true
			}
		}
		prev = pc
		i++
		pc = at(i)
		if pc == ']' {
			break
		}
	}
	return i, matched != negated, false
}

func charClass(name string, c byte) (ok, known bool) {
	isUpper := c >= 'A' && c <= 'Z'
	isLower := c >= 'a' && c <= 'z'
	isDigit := c >= '0' && c <= '9'
	isAlpha := isUpper || isLower
	isPrint := c >= 0x20 && c < 0x7f
	isSpace := c == ' ' || (c >= '\t' && c <= '\r')
	switch name {
	case "alnum":
		return isAlpha || isDigit, true
	case "alpha":
		return isAlpha, true
	case "blank":
		return c == ' ' || c == '\t', true
	case "cntrl":
		return c < 0x20 || c == 0x7f, true
	case "digit":
		return isDigit, true
	case "graph":
		return isPrint && c != ' ', true
	case "lower":
		return isLower, true
	case "print":
		return isPrint, true
	case "punct":
		return isPrint && c != ' ' && !isAlpha && !isDigit, true
	case "space":
		return isSpace, true
	case "upper":
		return isUpper, true
	case "xdigit":
		return isDigit || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'), true
	}
	return false, false
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}
