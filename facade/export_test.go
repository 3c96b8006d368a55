package facade

// WriteParametersFile lends the benchmarks' parameters-file writer to the
// external tests (package facade_test).
var WriteParametersFile = writeParametersFile
