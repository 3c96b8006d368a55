//go:build unix

package facade

import "syscall"

// openNonblock makes the open of a FIFO (or a device) return at once
// instead of waiting for a writer, so that openRegular can refuse it.
const openNonblock = syscall.O_NONBLOCK
