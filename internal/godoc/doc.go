// Package godoc holds the test of the public packages' doc comments: every
// exported identifier has one, it starts with the identifier's name, and it
// states a contract in at most 15 lines. It has no code.
package godoc
