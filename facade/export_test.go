package facade

// WriteParametersFile lends the benchmarks' parameters-file writer to the
// external tests (package facade_test).
var WriteParametersFile = writeParametersFile

// BearerToken lends the token's redacting type to the external tests.
type BearerToken = bearerToken
