//go:build !unix

package facade

// openNonblock is 0 where the system has no O_NONBLOCK for files.
const openNonblock = 0
