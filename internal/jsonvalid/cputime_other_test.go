//go:build !linux

package jsonvalid

import "time"

// threadCPUTime is not available on this system.
func threadCPUTime() (time.Duration, bool) { return 0, false }
