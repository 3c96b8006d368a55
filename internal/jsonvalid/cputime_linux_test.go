package jsonvalid

import (
	"syscall"
	"time"
)

// threadCPUTime returns the CPU time used so far by the calling OS thread,
// and true; the caller must be locked to its thread.
func threadCPUTime() (time.Duration, bool) {
	const rusageThread = 1 // RUSAGE_THREAD
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
