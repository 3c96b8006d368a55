package facade

// WriteParametersFile lends the benchmarks' parameters-file writer to the
// external tests (package facade_test).
var WriteParametersFile = writeParametersFile

// BearerToken lends the token's redacting type to the external tests.
type BearerToken = bearerToken

// DecodePage reads a page of jobs as ListJobs does, for the decoding
// benchmark of the external tests.
func DecodePage(data []byte) (*JobPage, error) {
	p, de := readPage(data)
	if de != nil {
		return nil, de
	}
	return p, nil
}

// DecodersAgree lends the differential check of the two decoding paths to
// the fuzz target (readjson_test.go).
func DecodersAgree(data []byte) error {
	_, _, err := decodersAgree(data)
	return err
}
