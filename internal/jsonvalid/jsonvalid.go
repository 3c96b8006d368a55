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
//
// Validate and Scanner check on the calling goroutine. A Pipeline, and
// ValidateParallel for input held in memory, check on several goroutines,
// with the same verdict and errors; see Pipeline for how.
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

// bufSize is the size of the chunks read from the input: large enough that
// the cost of a read (a system call, for a file) is small beside the scan of
// its bytes, and small enough that the chunk stays in the CPU's L2 cache
// between the copy into it and the scan.
const bufSize = 256 << 10

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
	serr      *SyntaxError // the error found by Write
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
//
// Validate reads r in chunks of 256 KiB; a *bytes.Reader or *bytes.Buffer is
// scanned in place, without a copy.
func Validate(r io.Reader) error {
	v := pool.Get().(*validator)
	defer pool.Put(v)
	v.reset()
	switch r.(type) {
	case *bytes.Reader, *bytes.Buffer:
		// These hand their bytes to v.Write without copying them.
		if _, err := r.(io.WriterTo).WriteTo(v); v.serr != nil {
			return v.serr
		} else if err != nil {
			return fmt.Errorf("jsonvalid: reading input at offset %d: %w", v.off, err)
		}
		return v.finish()
	}
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
	v.serr = nil
}

// Write scans p, the next bytes of the input given to Validate by an
// [io.WriterTo]. At the first syntax error it sets v.serr and returns it,
// with the number of bytes before the error.
func (v *validator) Write(p []byte) (int, error) {
	n, err := v.write(p)
	if err != nil {
		v.serr = err
		return n, err
	}
	return n, nil
}

// write scans p and accounts for its bytes, in pieces of at most bufSize
// bytes, so that the line count of each piece (a second pass over it) finds
// it still in the CPU's cache. It returns len(p) and nil, or the number of
// bytes before the first syntax error and that error.
func (v *validator) write(p []byte) (int, *SyntaxError) {
	for k := 0; k < len(p); k += bufSize {
		q := p[k:min(k+bufSize, len(p))]
		if i := v.scan(q); i >= 0 {
			return k + i, v.syntaxError(q, i)
		}
		v.advance(q)
	}
	return len(p), nil
}

// advance accounts for the bytes of p, which have been scanned.
func (v *validator) advance(p []byte) {
	// bytes.Count and bytes.IndexByte are vectorized; bytes.LastIndexByte
	// is a byte loop, so it only searches the last window holding a '\n'.
	if n := bytes.Count(p, nl); n > 0 {
		v.line += n
		end := len(p)
		for {
			start := max(end-lastLineWindow, 0)
			if bytes.IndexByte(p[start:end], '\n') >= 0 {
				v.lineStart = v.off + int64(start+bytes.LastIndexByte(p[start:end], '\n')) + 1
				break
			}
			end = start
		}
	}
	v.off += int64(len(p))
}

// lastLineWindow is the size of the windows in which advance looks for the
// last line break of a chunk.
const lastLineWindow = 256

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
	clSpace    = 1 << iota // JSON whitespace
	clStrSafe              // may appear unescaped in a string, and does not end it
	clDigit                // 0-9
	clHex                  // 0-9, a-f, A-F
	clEscChar              // may follow '\' (except 'u')
	clNumStart             // '-' or 0-9, which start a number
)

var class = func() (t [256]uint8) {
	for c := 0; c < 256; c++ {
		if c >= 0x20 && c != '"' && c != '\\' {
			t[c] |= clStrSafe
		}
		if c >= '0' && c <= '9' || c == '-' {
			t[c] |= clNumStart
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

// Word-at-a-time (SWAR) scanning: the skip functions below load 8 bytes into
// a uint64 (little-endian, so byte k of the input is bits 8k..8k+7) and
// compute a mask with the high bit of byte k set when byte k stops the run.
// The index of the first stopping byte is then TrailingZeros64(mask)/8. Every
// mask is computed on the low 7 bits of each byte, so no carry or borrow
// crosses from one byte into the next: each byte's answer is exact, which the
// exhaustive tests in swar_test.go check for every byte value at every offset.
const (
	lsb  = 0x0101010101010101
	msb  = 0x8080808080808080
	low7 = 0x7f7f7f7f7f7f7f7f
)

// stringStops flags the bytes of x that stop a run of string contents:
// '"', '\\' and the control characters below 0x20. Bytes >= 0x80 never do.
func stringStops(x uint64) uint64 {
	a := x & low7
	// For a 7-bit value v, v+0x7f has its high bit set unless v is 0, and
	// a+0x60 has it set unless a < 0x20: the three terms flag the bytes
	// that are not '"', not '\\' and not control characters.
	ok := ((a ^ '"'*lsb) + low7) & ((a ^ '\\'*lsb) + low7) & (a + 0x60*lsb)
	return ^(ok | x) & msb
}

// digitStops flags the bytes of x that are not ASCII digits.
func digitStops(x uint64) uint64 {
	a := x & low7
	// a+0x46 reaches 0x80 when a > '9'; a+0x50 stays below it when a < '0'.
	return (x | (a + 0x46*lsb) | ^(a + 0x50*lsb)) & msb
}

// nonZero returns x with the high bit of each byte set if and only if that
// byte is not zero, with no carries between bytes.
func nonZero(x uint64) uint64 {
	return ((x &^ msb) + low7 | x) & msb
}

// skipString returns the index of the first byte in p[i:] that cannot be
// skipped inside a string ('"', '\\' or a control character), or len(p).
func skipString(p []byte, i int) int {
	q := p[i:]
	for len(q) >= 16 {
		m0 := stringStops(binary.LittleEndian.Uint64(q))
		m1 := stringStops(binary.LittleEndian.Uint64(q[8:16]))
		if m0|m1 != 0 {
			// Which of the two words the run ends in is not branched on:
			// it is as likely to be one as the other.
			k := 8 + bits.TrailingZeros64(m1)>>3
			if m0 != 0 {
				k = bits.TrailingZeros64(m0) >> 3
			}
			return len(p) - len(q) + k
		}
		q = q[16:]
	}
	if len(q) >= 8 {
		if m := stringStops(binary.LittleEndian.Uint64(q)); m != 0 {
			return len(p) - len(q) + bits.TrailingZeros64(m)>>3
		}
		q = q[8:]
	}
	for k, c := range q {
		if class[c]&clStrSafe == 0 {
			return len(p) - len(q) + k
		}
	}
	return len(p)
}

// scanString scans string contents from p[i] on, as far as the closing quote.
// It returns the index just past the closing quote and true, or, if it stopped
// before, the index of the byte it stopped at and false: the end of p, a
// control character, or a '\\' whose escape is invalid or not wholly in p.
// Escapes that are valid and wholly in p are skipped.
func scanString(p []byte, i int) (int, bool) {
	for {
		// The first word is tested before the loop of skipString, since
		// most keys and many values end within it.
		if len(p)-i >= 8 {
			if m := stringStops(binary.LittleEndian.Uint64(p[i:])); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
			} else {
				i = skipString(p, i+8)
			}
		} else {
			i = skipString(p, i)
		}
		if i >= len(p) {
			return len(p), false
		}
		switch p[i] {
		case '"':
			return i + 1, true
		case '\\':
			if i+1 < len(p) && class[p[i+1]]&clEscChar != 0 {
				i += 2
				continue
			}
			if i+5 < len(p) && p[i+1] == 'u' && class[p[i+2]]&class[p[i+3]]&class[p[i+4]]&class[p[i+5]]&clHex != 0 {
				i += 6
				continue
			}
		}
		return i, false
	}
}

// skipSpace returns the index of the first byte in p[i:] that is not JSON
// whitespace, or len(p).
func skipSpace(p []byte, i int) int {
	// Most whitespace runs are a single byte, as in `"a": 1, "b"`; longer
	// runs are mostly indentation, scanned 8 bytes at a time.
	if i < len(p) && class[p[i]]&clSpace == 0 {
		return i
	}
	// Runs of indentation are mostly spaces after one line break, so each
	// word is tested for bytes other than ' ' only, and the first one found
	// is looked at: a tab, CR or LF is skipped and the scan goes on after it.
	q := p[i:]
	for len(q) >= 8 {
		m := nonZero(binary.LittleEndian.Uint64(q) ^ ' '*lsb)
		if m == 0 {
			q = q[8:]
			continue
		}
		k := len(p) - len(q) + bits.TrailingZeros64(m)>>3
		if class[p[k]]&clSpace == 0 {
			return k
		}
		q = p[k+1:]
	}
	for k, c := range q {
		if class[c]&clSpace == 0 {
			return len(p) - len(q) + k
		}
	}
	return len(p)
}

// skipDigits returns the index of the first byte in p[i:] that is not an
// ASCII digit, or len(p).
func skipDigits(p []byte, i int) int {
	// Runs of digits are mostly short and of varying length, so the first
	// 16 bytes are tested without a loop, and inline.
	if len(p)-i >= 16 {
		if n := digits16(p[i : i+16]); n < 16 {
			return i + n
		}
		i += 16
	}
	return skipDigitsLoop(p, i)
}

// digits16 returns the number of leading ASCII digits of w, which is 16
// bytes long. The second word is tested only if the first is all digits:
// most runs end in the first, and the branch is cheaper than the second
// test when they do.
func digits16(w []byte) int {
	if m := digitStops(binary.LittleEndian.Uint64(w[:8])); m != 0 {
		return bits.TrailingZeros64(m) >> 3
	}
	return 8 + bits.TrailingZeros64(digitStops(binary.LittleEndian.Uint64(w[8:16])))>>3
}

// skipDigitsLoop is skipDigits past its first 16 bytes.
func skipDigitsLoop(p []byte, i int) int {
	q := p[i:]
	for len(q) >= 8 {
		if m := digitStops(binary.LittleEndian.Uint64(q)); m != 0 {
			return len(p) - len(q) + bits.TrailingZeros64(m)>>3
		}
		q = q[8:]
	}
	for k, c := range q {
		if class[c]&clDigit == 0 {
			return len(p) - len(q) + k
		}
	}
	return len(p)
}

// scanNumber scans the number that starts at p[i] with '-' or a digit, as far
// as p allows. It returns the index of the first byte it did not consume and
// the state after the bytes it did: stAfterValue once the number has ended,
// or the state in which the byte at the returned index (or the next chunk)
// must be scanned, which reports the error if that byte cannot continue the
// number.
//
// It goes byte by byte where a number's form is decided; values has the
// fast path for the numbers of most documents.
func scanNumber(p []byte, i int) (int, state) {
	if p[i] == '-' {
		if i++; i == len(p) || class[p[i]]&clDigit == 0 {
			return i, stNumMinus
		}
	}
	if p[i] == '0' {
		return numberAfterInt(p, i+1, stNumZero)
	}
	return numberAfterInt(p, skipDigits(p, i+1), stNumInt)
}

// numberAfterInt scans a number on from p[i], just after its integer part,
// like scanNumber; st is the state if p ends there.
func numberAfterInt(p []byte, i int, st state) (int, state) {
	if i == len(p) {
		return i, st
	}
	if p[i] == '.' {
		if i++; i == len(p) || class[p[i]]&clDigit == 0 {
			return i, stNumDot
		}
		if i = skipDigits(p, i+1); i == len(p) {
			return i, stNumFrac
		}
	}
	return numberAfterFrac(p, i)
}

// numberAfterFrac scans a number on from p[i], just after its fraction (or
// after its integer part if it has none), like scanNumber; i < len(p).
func numberAfterFrac(p []byte, i int) (int, state) {
	if p[i]|0x20 == 'e' {
		if i++; i == len(p) {
			return i, stNumE
		}
		if p[i] == '+' || p[i] == '-' {
			i++
		}
		if i == len(p) || class[p[i]]&clDigit == 0 {
			return i, stNumESign
		}
		if i = skipDigits(p, i+1); i == len(p) {
			return i, stNumExp
		}
	}
	return i, stAfterValue
}

// b2i returns 1 for true and 0 for false, without a branch.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// The literals as little-endian words, as loaded from the input.
const (
	litTrue  = 'e'<<24 | 'u'<<16 | 'r'<<8 | 't'
	litNull  = 'l'<<24 | 'l'<<16 | 'u'<<8 | 'n'
	litFalse = 'e'<<32 | 's'<<24 | 'l'<<16 | 'a'<<8 | 'f'
)

// afterValue scans on from p[i], just after a value, over what commonly
// follows one, without a trip through the state machine per byte: the
// closing brackets that match the open ones, then a ',' and, in an object,
// the next key and its ':'. It returns the index and the state at which the
// state machine goes on, and the stack of open brackets; it stops at
// anything else, which the state machine then scans, and reports if it is
// an error, at the same place.
func afterValue(p []byte, i int, stack []byte) (int, state, []byte) {
	for i < len(p) && len(stack) > 0 {
		top := stack[len(stack)-1]
		switch c := p[i]; c {
		case ',':
			if top == '[' {
				return i + 1, stValue, stack
			}
			i, st := objectKey(p, i+1, stObjectKey)
			return i, st, stack
		case top + 2: // ']' is '[' + 2, and '}' is '{' + 2
			stack = stack[:len(stack)-1]
			i++
		default:
			return i, stAfterValue, stack
		}
	}
	return i, stAfterValue, stack
}

// objectKey scans on from p[i], after the '{' or ',' that precedes an
// object key, in state st (stObjectFirst or stObjectKey): over whitespace,
// the key and the ':' after it, as far as they are wholly in p. It returns
// the index and the state at which the state machine goes on.
func objectKey(p []byte, i int, st state) (int, state) {
	if i < len(p) && class[p[i]]&clSpace != 0 {
		i = skipSpace(p, i+1)
	}
	if i >= len(p) || p[i] != '"' {
		return i, st
	}
	j, closed := scanString(p, i+1)
	if !closed {
		return i, st // the state machine scans the key again, as far as p allows
	}
	if j < len(p) && p[j] == ':' {
		return j + 1, stValue
	}
	return j, stColon
}

// fastMargin is how many bytes values needs at hand at the start of a
// value to scan the common tokens without checks against the end of p.
const fastMargin = 64

// values scans on from p[i], where a value (or, in state stArrayFirst, a
// ']') may start after optional whitespace, in state st (stValue or
// stArrayFirst), over the run of values, separators, keys and brackets that
// make up most documents, in one loop, without a trip through the state
// machine per token. It returns the index and the state at which the state
// machine goes on, and the stack of open brackets: it stops before the
// first token it does not handle (a string or number not wholly in p,
// anything malformed, the last fastMargin bytes of p), which the state
// machine then scans, and reports if it is an error, at the same place.
func values(p []byte, i int, st state, stack []byte) (int, state, []byte) {
	for len(p)-i >= fastMargin {
		// A value starts at p[i], after optional whitespace.
		c := p[i]
		if class[c]&clSpace != 0 {
			i = skipSpace(p, i+1)
			continue
		}
		start := i
		switch {
		case c == '"':
			j, closed := scanString(p, i+1)
			if !closed {
				return start, st, stack
			}
			i = j
		case class[c]&clNumStart != 0:
			// A number whose digits run on for long, or to near the end
			// of p, is left to the state machine, which scans it again.
			// Whether it has a sign varies too much from one number to
			// the next to branch on: the integer part ends at the first
			// byte after p[i] that is not a digit either way.
			n := digits16(p[i+1 : i+17])
			minus := b2i(c == '-')
			if minus > n || b2i(p[i+minus] == '0')&b2i(n > minus) != 0 {
				return start, st, stack // "-" alone, or a leading zero
			}
			j := i + 1 + n
			if n == 16 {
				if j = skipDigits(p, j); len(p)-j < 40 {
					return start, st, stack
				}
			}
			if p[j] == '.' {
				n := digits16(p[j+1 : j+17])
				if n == 0 {
					return start, st, stack
				}
				if j += 1 + n; n == 16 {
					if j = skipDigits(p, j); len(p)-j < 24 {
						return start, st, stack
					}
				}
			}
			if p[j]|0x20 == 'e' {
				if j++; p[j] == '+' || p[j] == '-' {
					j++
				}
				n := digits16(p[j : j+16])
				if n == 0 {
					return start, st, stack
				}
				if j += n; n == 16 {
					if j = skipDigits(p, j); j == len(p) {
						return start, st, stack
					}
				}
			}
			i = j
		case c == '{':
			if len(stack) >= maxDepth {
				return start, st, stack
			}
			stack = append(stack, '{')
			i++
			if p[i] == '}' {
				stack = stack[:len(stack)-1]
				i++
				break
			}
			if i, st = objectKey(p, i, stObjectFirst); st != stValue {
				return i, st, stack
			}
			continue
		case c == '[':
			if len(stack) >= maxDepth {
				return start, st, stack
			}
			stack = append(stack, '[')
			i, st = i+1, stArrayFirst
			continue
		case c == ']' && st == stArrayFirst:
			stack = stack[:len(stack)-1]
			i++
		default:
			w := binary.LittleEndian.Uint64(p[i:])
			switch {
			case uint32(w) == litTrue || uint32(w) == litNull:
				i += 4
			case w&0xffffffffff == litFalse:
				i += 5
			default:
				return start, st, stack
			}
		}
		// After a value: the closing brackets that follow it, then a ','.
		for {
			if i >= len(p) || len(stack) == 0 {
				return i, stAfterValue, stack
			}
			top := stack[len(stack)-1]
			switch p[i] {
			case ',':
				i++
				if top == '[' {
					st = stValue
				} else {
					var kst state
					if i, kst = objectKey(p, i, stObjectKey); kst != stValue {
						return i, kst, stack
					}
					st = stValue
				}
			case top + 2: // ']' is '[' + 2, and '}' is '{' + 2
				stack = stack[:len(stack)-1]
				i++
				continue
			default:
				return i, stAfterValue, stack
			}
			break
		}
	}
	return i, st, stack
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
			if len(p)-i >= fastMargin {
				if j, st2, stack2 := values(p, i, st, stack); j != i || st2 != st {
					i, st, stack = j, st2, stack2
					continue
				}
			}
			switch c {
			case '"':
				j, closed := scanString(p, i+1)
				if !closed {
					i, st, v.key = j, stString, false
					continue
				}
				i, st, stack = afterValue(p, j, stack)
				continue
			case '{', '[':
				if len(stack) >= maxDepth {
					v.msg = msgDepth
					return i
				}
				stack = append(stack, c)
				if c == '{' {
					i, st = objectKey(p, i+1, stObjectFirst)
					continue
				}
				st = stArrayFirst
			case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
				if i, st = scanNumber(p, i); st == stAfterValue {
					i, st, stack = afterValue(p, i, stack)
				}
				continue
			case 't', 'f', 'n':
				// A literal wholly in p is matched as one word; otherwise, or
				// if it does not match, byte by byte, which finds the error.
				if len(p)-i >= 8 {
					w := binary.LittleEndian.Uint64(p[i:])
					if uint32(w) == litTrue || uint32(w) == litNull {
						i, st, stack = afterValue(p, i+4, stack)
						continue
					}
					if w&0xffffffffff == litFalse {
						i, st, stack = afterValue(p, i+5, stack)
						continue
					}
				}
				switch c {
				case 't':
					st, v.lit, v.n = stLit, "true", 1
				case 'f':
					st, v.lit, v.n = stLit, "false", 1
				default:
					st, v.lit, v.n = stLit, "null", 1
				}
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
				j, closed := scanString(p, i+1)
				i, st, v.key = j, stColon, true
				if !closed {
					st = stString
				} else if j < len(p) && p[j] == ':' {
					// The usual `"key":` needs no trip through stColon.
					i, st = j+1, stValue
				}
				continue
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
					i, st = objectKey(p, i+1, stObjectKey)
				case '}':
					i, st, stack = afterValue(p, i+1, stack[:len(stack)-1])
				default:
					v.invalid(c, "after object key:value pair")
					return i
				}
			} else {
				switch c {
				case ',':
					st = stValue
					i++
				case ']':
					i, st, stack = afterValue(p, i+1, stack[:len(stack)-1])
				default:
					v.invalid(c, "after array element")
					return i
				}
			}

		case stString:
			j, closed := scanString(p, i)
			if i = j; closed {
				st = stAfterValue
				if v.key {
					st = stColon
				}
				continue
			}
			if i == len(p) {
				break loop
			}
			if c = p[i]; c != '\\' {
				v.invalid(c, "in string literal")
				return i
			}
			st = stEsc
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
	n, err := s.v.write(p)
	if err != nil {
		s.err = err
		return n, err
	}
	return n, nil
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
