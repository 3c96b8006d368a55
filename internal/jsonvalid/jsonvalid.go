// Package jsonvalid checks that a stream holds exactly one well-formed JSON value
// (RFC 8259), without decoding it and in constant memory.
//
// It is meant for large inputs, such as a user's parameters file that may be
// hundreds of MiB, that must be checked before they are uploaded. It accepts
// exactly the documents that [encoding/json.Valid] accepts: in particular, like
// encoding/json, it does not check that string contents are valid UTF-8, and it
// rejects nesting deeper than 10000 arrays and objects.
//
// The input is read in fixed-size chunks through a resumable state machine, so
// memory use does not grow with the input size, apart from a stack of at most
// 10000 bytes for the nesting depth.
package jsonvalid

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"strconv"
	"sync"
)

// maxDepth is the deepest nesting of arrays and objects that is accepted,
// the same limit as encoding/json.
const maxDepth = 10000

// bufSize is the size of the chunks read from the input.
const bufSize = 64 << 10

// maxEmptyReads is how many consecutive (0, nil) reads are tolerated before
// giving up with io.ErrNoProgress, as bufio does.
const maxEmptyReads = 100

// Messages of a SyntaxError that are not about an invalid character.
const (
	msgEOF   = "unexpected end of input"
	msgDepth = "exceeded max depth of 10000 nested arrays and objects"
)

// SyntaxError describes the first syntax error in the input given to Validate.
type SyntaxError struct {
	// Offset is the 0-based byte offset of the offending byte, or the length
	// of the input if it ended too early.
	Offset int64
	// Line is the 1-based line number of Offset; lines end with '\n'.
	Line int
	// Column is the 1-based column of Offset, counted in bytes.
	Column int
	// Msg describes the error, without the position.
	Msg string
}

// Error returns the position and the description of the error, for example
// "line 3, column 14: invalid character '}' after object key".
func (e *SyntaxError) Error() string {
	return "line " + strconv.Itoa(e.Line) + ", column " + strconv.Itoa(e.Column) + ": " + e.Msg
}

// state is where the scanner is in the grammar. The states before stString
// skip whitespace before looking at the next byte; the others are inside a
// token, where whitespace is significant.
type state uint8

const (
	stValue       state = iota // expecting a value (top level, after ':' or after ',' in an array)
	stArrayFirst               // after '[': a value or ']'
	stObjectFirst              // after '{': a key or '}'
	stObjectKey                // after ',' in an object: a key
	stColon                    // after a key: ':'
	stAfterValue               // after a value: ',' or a closing bracket, or only whitespace at the top level
	stString                   // inside a string
	stEsc                      // after '\' in a string
	stHex                      // inside the 4 hex digits of a \u escape
	stNumMinus                 // after a leading '-'
	stNumZero                  // after a leading '0' (optionally after '-')
	stNumInt                   // in the integer digits after 1-9
	stNumDot                   // after '.'
	stNumFrac                  // in the fraction digits
	stNumE                     // after 'e' or 'E'
	stNumESign                 // after the sign of the exponent
	stNumExp                   // in the exponent digits
	stLit                      // inside true, false or null
)

// validator holds the state of one Validate call; it is reused through pool.
type validator struct {
	buf   []byte
	stack []byte // '{' or '[' for each open object or array

	st  state
	key bool   // the string being scanned is an object key
	n   int    // hex digits seen in a \u escape, or bytes matched of lit
	lit string // the literal being matched in stLit

	off       int64 // offset of the start of the chunk being scanned
	line      int   // line number at off
	lineStart int64 // offset of the first byte of that line
	msg       string
}

var pool = sync.Pool{New: func() any {
	return &validator{buf: make([]byte, bufSize), stack: make([]byte, 0, 64)}
}}

// Validate reads r to EOF and reports whether it holds exactly one well-formed JSON value
// (RFC 8259: surrounding whitespace allowed, nothing else after the value).
//
// It returns nil if the input is valid and a *SyntaxError describing the
// first error otherwise; empty or whitespace-only input is a SyntaxError.
// Validate stops reading at the first syntax error. An error returned by r
// (other than io.EOF) is returned wrapped, and can be examined with errors.Is
// and errors.As. Validate may be called concurrently.
func Validate(r io.Reader) error {
	v := pool.Get().(*validator)
	defer pool.Put(v)
	v.reset()
	empty := 0
	for {
		n, err := r.Read(v.buf)
		if n > 0 {
			empty = 0
			p := v.buf[:n]
			if i := v.scan(p); i >= 0 {
				return v.syntaxError(p, i)
			}
			v.advance(p)
		} else if err == nil {
			if empty++; empty >= maxEmptyReads {
				err = io.ErrNoProgress
			}
		}
		if err == io.EOF {
			return v.finish()
		}
		if err != nil {
			return fmt.Errorf("jsonvalid: reading input at offset %d: %w", v.off, err)
		}
	}
}

func (v *validator) reset() {
	v.stack = v.stack[:0]
	v.st = stValue
	v.key = false
	v.n = 0
	v.lit = ""
	v.off = 0
	v.line = 1
	v.lineStart = 0
	v.msg = ""
}

// advance accounts for the bytes of p, which have been scanned.
func (v *validator) advance(p []byte) {
	if k := bytes.LastIndexByte(p, '\n'); k >= 0 {
		v.line += bytes.Count(p[:k+1], nl)
		v.lineStart = v.off + int64(k) + 1
	}
	v.off += int64(len(p))
}

var nl = []byte{'\n'}

// syntaxError returns the error v.msg at p[i].
func (v *validator) syntaxError(p []byte, i int) *SyntaxError {
	v.advance(p[:i])
	return &SyntaxError{Offset: v.off, Line: v.line, Column: int(v.off-v.lineStart) + 1, Msg: v.msg}
}

// finish is called at the end of the input.
func (v *validator) finish() error {
	if len(v.stack) == 0 {
		switch v.st {
		case stAfterValue, stNumZero, stNumInt, stNumFrac, stNumExp:
			return nil
		}
	}
	v.msg = msgEOF
	return v.syntaxError(nil, 0)
}

// invalid sets v.msg for the invalid byte c found in context ctx, in the words
// of encoding/json.
func (v *validator) invalid(c byte, ctx string) {
	v.msg = "invalid character " + quoteChar(c) + " " + ctx
}

// quoteChar formats c like encoding/json does, except that bytes >= 0x80,
// which are not characters by themselves, are shown as hex escapes.
func quoteChar(c byte) string {
	switch {
	case c == '\'':
		return `'\''`
	case c == '"':
		return `'"'`
	case c >= utf8RuneSelf:
		return `'\x` + strconv.FormatUint(uint64(c)>>4, 16) + strconv.FormatUint(uint64(c)&15, 16) + `'`
	}
	s := strconv.Quote(string(rune(c)))
	return "'" + s[1:len(s)-1] + "'"
}

const utf8RuneSelf = 0x80

// Byte classes.
const (
	clSpace   = 1 << iota // JSON whitespace
	clStrSafe             // may appear unescaped in a string, and does not end it
	clDigit               // 0-9
	clHex                 // 0-9, a-f, A-F
	clEscChar             // may follow '\' (except 'u')
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 0x20 && c != '"' && c != '\\' {
			t[c] |= clStrSafe
		}
		if c >= '0' && c <= '9' {
			t[c] |= clDigit | clHex
		}
		if c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' {
			t[c] |= clHex
		}
	}
	for _, c := range " \t\r\n" {
		t[c] |= clSpace
	}
	for _, c := range `"\/bfnrt` {
		t[c] |= clEscChar
	}
	return t
}()

// SWAR constants for scanning strings 8 bytes at a time.
const (
	lsb   = 0x0101010101010101
	msb   = 0x8080808080808080
	low7  = 0x7f7f7f7f7f7f7f7f
	quote = '"' * lsb
	bslsh = '\\' * lsb
	ctl   = 0x20 * lsb
)

// skipString returns the index of the first byte in p[i:] that cannot be
// skipped inside a string ('"', '\' or a control character), or len(p).
func skipString(p []byte, i int) int {
	for ; i+8 <= len(p); i += 8 {
		x := binary.LittleEndian.Uint64(p[i:])
		q := x ^ quote
		b := x ^ bslsh
		// For each of q, b and x-ctl, the lowest flagged byte is exact
		// (borrows only cause false flags above a true one), and bytes with
		// the high bit set are never flagged.
		m := ((q - lsb) &^ q) | ((b - lsb) &^ b) | ((x - ctl) &^ x)
		m &= msb
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(p); i++ {
		if class[p[i]]&clStrSafe == 0 {
			return i
		}
	}
	return i
}

// nonZero returns x with the high bit of each byte set if and only if that
// byte is not zero. Unlike the usual (x-lsb)&^x trick it has no carries
// between bytes, so every byte's answer is exact.
func nonZero(x uint64) uint64 {
	return ((x &^ msb) + low7 | x) & msb
}

// skipSpace returns the index of the first byte in p[i:] that is not JSON
// whitespace, or len(p).
func skipSpace(p []byte, i int) int {
	// Most whitespace runs are a single byte, as in `"a": 1, "b"`; longer
	// runs are mostly indentation, scanned 8 bytes at a time.
	if i < len(p) && class[p[i]]&clSpace == 0 {
		return i
	}
	for ; i+8 <= len(p); i += 8 {
		x := binary.LittleEndian.Uint64(p[i:])
		m := nonZero(x^(' '*lsb)) & nonZero(x^('\n'*lsb)) & nonZero(x^('\t'*lsb)) & nonZero(x^('\r'*lsb))
		if m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(p); i++ {
		if class[p[i]]&clSpace == 0 {
			return i
		}
	}
	return i
}

// skipDigits returns the index of the first byte in p[i:] that is not an
// ASCII digit, or len(p).
func skipDigits(p []byte, i int) int {
	for ; i+8 <= len(p); i += 8 {
		x := binary.LittleEndian.Uint64(p[i:])
		// A byte is a digit if its high nibble is 3 and its low nibble
		// plus 6 does not overflow into the high nibble.
		bad := (x & (0xf0 * lsb)) ^ (0x30 * lsb) | ((x&(0x0f*lsb))+0x06*lsb)&(0xf0*lsb)
		if m := nonZero(bad); m != 0 {
			return i + bits.TrailingZeros64(m)>>3
		}
	}
	for ; i < len(p); i++ {
		if class[p[i]]&clDigit == 0 {
			return i
		}
	}
	return i
}

// scan runs the state machine over p, a chunk of the input following the
// chunks already scanned. It returns -1 if p holds no error, or else the
// index of the offending byte, with v.msg set.
func (v *validator) scan(p []byte) int {
	st, stack := v.st, v.stack
	i := 0
loop:
	for i < len(p) {
		c := p[i]
		if st < stString && class[c]&clSpace != 0 {
			i = skipSpace(p, i+1)
			if i == len(p) {
				break loop
			}
			c = p[i]
		}
		switch st {
		case stValue, stArrayFirst:
			switch c {
			case '"':
				st, v.key = stString, false
			case '{', '[':
				if len(stack) >= maxDepth {
					v.msg = msgDepth
					return i
				}
				stack = append(stack, c)
				st = stArrayFirst
				if c == '{' {
					st = stObjectFirst
				}
			case '-':
				st = stNumMinus
			case '0':
				st = stNumZero
			case '1', '2', '3', '4', '5', '6', '7', '8', '9':
				st = stNumInt
			case 't':
				st, v.lit, v.n = stLit, "true", 1
			case 'f':
				st, v.lit, v.n = stLit, "false", 1
			case 'n':
				st, v.lit, v.n = stLit, "null", 1
			case ']':
				if st == stArrayFirst {
					stack = stack[:len(stack)-1]
					st = stAfterValue
					break
				}
				fallthrough
			default:
				v.invalid(c, "looking for beginning of value")
				return i
			}
			i++

		case stObjectFirst, stObjectKey:
			switch {
			case c == '"':
				st, v.key = stString, true
			case c == '}' && st == stObjectFirst:
				stack = stack[:len(stack)-1]
				st = stAfterValue
			default:
				v.invalid(c, "looking for beginning of object key string")
				return i
			}
			i++

		case stColon:
			if c != ':' {
				v.invalid(c, "after object key")
				return i
			}
			st = stValue
			i++

		case stAfterValue:
			if len(stack) == 0 {
				v.invalid(c, "after top-level value")
				return i
			}
			if stack[len(stack)-1] == '{' {
				switch c {
				case ',':
					st = stObjectKey
				case '}':
					stack = stack[:len(stack)-1]
				default:
					v.invalid(c, "after object key:value pair")
					return i
				}
			} else {
				switch c {
				case ',':
					st = stValue
				case ']':
					stack = stack[:len(stack)-1]
				default:
					v.invalid(c, "after array element")
					return i
				}
			}
			i++

		case stString:
			if class[c]&clStrSafe != 0 {
				i = skipString(p, i+1)
				if i == len(p) {
					break loop
				}
				c = p[i]
			}
			switch c {
			case '"':
				st = stAfterValue
				if v.key {
					st = stColon
				}
			case '\\':
				st = stEsc
			default:
				v.invalid(c, "in string literal")
				return i
			}
			i++

		case stEsc:
			switch {
			case c == 'u':
				st, v.n = stHex, 0
			case class[c]&clEscChar != 0:
				st = stString
			default:
				v.invalid(c, "in string escape code")
				return i
			}
			i++

		case stHex:
			if class[c]&clHex == 0 {
				v.invalid(c, `in \u hexadecimal character escape`)
				return i
			}
			if v.n++; v.n == 4 {
				st = stString
			}
			i++

		case stNumMinus:
			switch {
			case c == '0':
				st = stNumZero
			case class[c]&clDigit != 0:
				st = stNumInt
			default:
				v.invalid(c, "in numeric literal")
				return i
			}
			i++

		case stNumInt, stNumFrac, stNumExp:
			// A number ends at the first byte that cannot continue it; that
			// byte is then scanned in stAfterValue.
			if class[c]&clDigit != 0 {
				i = skipDigits(p, i+1)
				if i == len(p) {
					break loop
				}
				c = p[i]
			}
			if st == stNumExp {
				st = stAfterValue
				continue // c is scanned in stAfterValue
			}
			fallthrough

		case stNumZero:
			switch {
			case c == '.' && st != stNumFrac:
				st = stNumDot
			case c == 'e' || c == 'E':
				st = stNumE
			default:
				st = stAfterValue
				continue // c is scanned in stAfterValue
			}
			i++

		case stNumDot:
			if class[c]&clDigit == 0 {
				v.invalid(c, "after decimal point in numeric literal")
				return i
			}
			st = stNumFrac
			i++

		case stNumE:
			if c == '+' || c == '-' {
				st = stNumESign
				i++
				break
			}
			fallthrough

		case stNumESign:
			if class[c]&clDigit == 0 {
				v.invalid(c, "in exponent of numeric literal")
				return i
			}
			st = stNumExp
			i++

		case stLit:
			if c != v.lit[v.n] {
				v.invalid(c, "in literal "+v.lit+" (expecting "+quoteChar(v.lit[v.n])+")")
				return i
			}
			if v.n++; v.n == len(v.lit) {
				st = stAfterValue
			}
			i++

		default:
			panic("jsonvalid: unreachable state " + strconv.Itoa(int(st)))
		}
	}
	v.st, v.stack = st, stack
	return -1
}

// Scanner checks JSON that arrives in pieces, such as the chunks of a file
// being uploaded: each Write scans its bytes where the previous one stopped,
// and Close checks that the input ended after exactly one value. The errors
// are those of [Validate], at the same offsets. A Scanner is not safe for
// concurrent use; it allocates nothing per Write.
type Scanner struct {
	v   *validator
	err error
}

// NewScanner returns a Scanner at the start of its input.
func NewScanner() *Scanner {
	v := pool.Get().(*validator)
	v.reset()
	return &Scanner{v: v}
}

// Write scans p. It returns len(p) and nil while the input is valid so far,
// and the first *SyntaxError (again on every later call) once it is not.
// Write does not keep p.
func (s *Scanner) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	if s.v == nil {
		return 0, errClosed
	}
	if i := s.v.scan(p); i >= 0 {
		s.err = s.v.syntaxError(p, i)
		return i, s.err
	}
	s.v.advance(p)
	return len(p), nil
}

// Close ends the input: it returns the first syntax error, or a
// *SyntaxError if the input ended early or held no value, or nil. It
// releases the Scanner's state; later calls return the same result.
func (s *Scanner) Close() error {
	if s.v == nil {
		if s.err == nil {
			return nil
		}
		return s.err
	}
	if s.err == nil {
		s.err = s.v.finish()
	}
	pool.Put(s.v)
	s.v = nil
	return s.err
}

// Offset returns how many bytes have been scanned.
func (s *Scanner) Offset() int64 {
	if s.v == nil {
		return -1
	}
	return s.v.off
}

var errClosed = errors.New("jsonvalid: write after Close")
