package spec

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// The bounds of CheckResponse, so that what it costs does not grow with
// what a server sends: a page of a million empty objects would otherwise
// give millions of findings and gigabytes of memory.
const (
	// MaxElements is the most array elements of one answer CheckResponse
	// validates, counted in document order at every depth; the later ones
	// are skipped, and CheckResult.Skipped counts them.
	MaxElements = 1000
	// MaxFindings is the most findings CheckResult holds; the others are
	// counted by kind in CheckResult.Omitted.
	MaxFindings = 100
	// maxDepth is the deepest nesting of arrays and objects decoded; a
	// deeper answer is one finding.
	maxDepth = 256
	// maxCollected bounds the findings collected before they are sorted
	// and cut to MaxFindings.
	maxCollected = 10 * MaxFindings
)

// errTooDeep is a document nested deeper than maxDepth.
var errTooDeep = fmt.Errorf("nested deeper than %d arrays and objects", maxDepth)

// boundedDoc decodes body as one JSON value, keeping the first maxElems
// array elements of the document and skipping the others, which it counts.
// Numbers stay json.Number. Skipped values are read token by token and
// dropped, so the memory used grows with what is kept.
func boundedDoc(body []byte, maxElems int) (doc any, skipped int, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	kept := 0
	var value func(depth int) (any, error)
	value = func(depth int) (any, error) {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		d, ok := tok.(json.Delim)
		if !ok {
			return tok, nil
		}
		if depth >= maxDepth {
			return nil, errTooDeep
		}
		switch d {
		case '{':
			m := map[string]any{}
			for dec.More() {
				k, err := dec.Token()
				if err != nil {
					return nil, err
				}
				key, _ := k.(string)
				if m[key], err = value(depth + 1); err != nil {
					return nil, err
				}
			}
			_, err = dec.Token() // '}'
			return m, err
		case '[':
			arr := []any{}
			for dec.More() {
				if kept >= maxElems {
					skipped++
					if err := skipValue(dec); err != nil {
						return nil, err
					}
					continue
				}
				kept++
				v, err := value(depth + 1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			_, err = dec.Token() // ']'
			return arr, err
		}
		return nil, fmt.Errorf("unexpected %v", d)
	}
	doc, err = value(0)
	if err != nil {
		return nil, 0, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, 0, errors.New("more than one JSON value, or text after it")
	}
	return doc, skipped, nil
}

// skipValue reads one value and drops it, without recursion.
func skipValue(dec *json.Decoder) error {
	depth := 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		if d, ok := tok.(json.Delim); ok {
			if d == '{' || d == '[' {
				depth++
			} else {
				depth--
			}
		}
		if depth == 0 {
			return nil
		}
	}
}
