package cli

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// hidden reports whether r must not reach a terminal or a log as it is: a
// control character (C0, DEL, C1), a format character (bidi controls such
// as U+202E and U+2066, zero-width characters such as U+200B, U+FEFF, tag
// characters), or a line or paragraph separator. Any of them can move the
// cursor, recolor the screen, reorder what is shown, hide text or start a
// new line.
func hidden(r rune) bool {
	return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp)
}

// escape returns s with every hidden character written as a Go escape:
// \n, \t, \x1b, \u202e, \U000e0001. The result is one line that shows what
// s holds, so text from the platform (or any text in an error) cannot
// forge a line, move the cursor or hide what follows it. Invalid UTF-8
// shows as U+FFFD. A backslash is kept as it is.
func escape(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return hidden(r) || r == utf8.RuneError }) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for _, r := range s {
		switch {
		case !hidden(r):
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	return b.String()
}

// escapeJSON rewrites encoded JSON so that it holds no hidden character
// raw: encoding/json escapes C0 controls, U+2028 and U+2029 but writes DEL,
// the C1 controls (such as U+009B, a terminal's CSI) and the format
// characters as they are. Each becomes a \u escape (a surrogate pair above
// U+FFFF), which every JSON reader decodes to the same string. The
// rewrite is safe on any output of encoding/json: outside strings, JSON is
// ASCII without DEL, and the bytes of a multi-byte rune never look like
// ASCII, so no escape is split or doubled.
func escapeJSON(data []byte) []byte {
	i := 0
	for i < len(data) {
		r, n := utf8.DecodeRune(data[i:])
		if hidden(r) && r >= 0x7f {
			break
		}
		i += n
	}
	if i == len(data) {
		return data
	}
	out := make([]byte, 0, len(data)+32)
	out = append(out, data[:i]...)
	for i < len(data) {
		r, n := utf8.DecodeRune(data[i:])
		switch {
		case !hidden(r) || r < 0x7f:
			out = append(out, data[i:i+n]...)
		case r <= 0xffff:
			out = fmt.Appendf(out, `\u%04x`, r)
		default:
			hi, lo := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, hi, lo)
		}
		i += n
	}
	return out
}
