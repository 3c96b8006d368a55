package jsonvalid_test

import (
	"fmt"
	"strings"

	"github.com/istari-go/sdk/internal/jsonvalid"
)

func ExampleValidate() {
	fmt.Println(jsonvalid.Validate(strings.NewReader(`{"span_m": 12.5, "ribs": [1, 2, 3]}`)))
	fmt.Println(jsonvalid.Validate(strings.NewReader("{\n  \"span_m\": 12.5,\n  \"ribs\": [1, 2, 3],\n}")))
	// Output:
	// <nil>
	// line 4, column 1: invalid character '}' looking for beginning of object key string
}

// A Pipeline checks chunks as they arrive, on goroutines of its own, and
// gives each chunk back once it no longer needs it, so that the caller can
// reuse its buffers.
func ExamplePipeline() {
	doc := []byte("[\n" + strings.Repeat(`{"id": 1, "tags": ["a", "b"]},`+"\n", 2000) + `{"id": 2}` + "\n]\n")
	free := make(chan []byte, 4)
	p := jsonvalid.NewPipeline(2, 4, func(chunk []byte) { free <- chunk })
	held := 0
	for len(doc) > 0 {
		n := min(len(doc), 4096)
		if held == 4 {
			<-free // wait for the Pipeline to give a chunk back
			held--
		}
		p.Write(doc[:n])
		held++
		doc = doc[n:]
	}
	fmt.Println(p.Close())

	fmt.Println(jsonvalid.ValidateParallel([]byte("[\n1,\n2,\n]"), 2))
	// Output:
	// <nil>
	// line 4, column 1: invalid character ']' looking for beginning of value
}
