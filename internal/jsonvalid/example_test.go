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
