package facade

import (
	"fmt"
	"strings"

	"github.com/istari-go/sdk/gen"
)

// JobStatusName is the name of a job status, such as Running or Completed.
// Values sent by a newer server that this SDK does not know decode without
// error; [JobStatusName.Valid] reports false for them.
type JobStatusName gen.JobStatusName

// The job statuses of the platform. The usual path is Pending, Claimed,
// Validating, Running, Uploading, Completed.
const (
	JobStatusCreated    = JobStatusName(gen.JobStatusNameCreated)
	JobStatusPending    = JobStatusName(gen.JobStatusNamePending)
	JobStatusClaimed    = JobStatusName(gen.JobStatusNameClaimed)
	JobStatusValidating = JobStatusName(gen.JobStatusNameValidating)
	JobStatusRunning    = JobStatusName(gen.JobStatusNameRunning)
	JobStatusUploading  = JobStatusName(gen.JobStatusNameUploading)
	JobStatusCompleted  = JobStatusName(gen.JobStatusNameCompleted)
	JobStatusFailed     = JobStatusName(gen.JobStatusNameFailed)
	JobStatusCanceled   = JobStatusName(gen.JobStatusNameCanceled)
	JobStatusUnknown    = JobStatusName(gen.JobStatusNameUnknown)
)

// JobStatusNameValues returns every job status the SDK knows, in the
// platform's order.
func JobStatusNameValues() []JobStatusName {
	return []JobStatusName{
		JobStatusCreated, JobStatusPending, JobStatusClaimed, JobStatusValidating, JobStatusRunning,
		JobStatusUploading, JobStatusCompleted, JobStatusFailed, JobStatusCanceled, JobStatusUnknown,
	}
}

// Valid reports whether s is one of [JobStatusNameValues].
func (s JobStatusName) Valid() bool { return gen.JobStatusName(s).Valid() }

// IsTerminal reports whether s is Completed, Failed or Canceled: a job in a
// terminal status does not change any more.
func (s JobStatusName) IsTerminal() bool {
	return s == JobStatusCompleted || s == JobStatusFailed || s == JobStatusCanceled
}

// String returns the wire form of s.
func (s JobStatusName) String() string { return string(s) }

// ParseJobStatusName returns the status named s, ignoring case and
// surrounding space. The error lists the valid values.
func ParseJobStatusName(s string) (JobStatusName, error) {
	return parseEnum("JobStatusName", s, JobStatusNameValues())
}

// OS is an operating system a function runs on, such as "Ubuntu 24.04".
// Values sent by a newer server decode without error; [OS.Valid] reports
// false for them.
type OS gen.OS

// The operating systems known to the platform so far.
const (
	OSWindows10         = OS(gen.OSWindows10)
	OSWindows11         = OS(gen.OSWindows11)
	OSWindowsServer2019 = OS(gen.OSWindowsServer2019)
	OSWindowsServer2022 = OS(gen.OSWindowsServer2022)
	OSUbuntu2204        = OS(gen.OSUbuntu2204)
	OSUbuntu2404        = OS(gen.OSUbuntu2404)
	OSRHEL8             = OS(gen.OSRHEL8)
	OSRHEL9             = OS(gen.OSRHEL9)
	OSMacOS15           = OS(gen.OSMacOS15)
)

// OSValues returns every operating system the SDK knows.
func OSValues() []OS {
	return []OS{
		OSWindows10, OSWindows11, OSWindowsServer2019, OSWindowsServer2022,
		OSUbuntu2204, OSUbuntu2404, OSRHEL8, OSRHEL9, OSMacOS15,
	}
}

// Valid reports whether o is one of [OSValues].
func (o OS) Valid() bool { return gen.OS(o).Valid() }

// String returns the wire form of o.
func (o OS) String() string { return string(o) }

// ParseOS returns the operating system named s, ignoring case and surrounding
// space. The error lists the valid values.
func ParseOS(s string) (OS, error) { return parseEnum("OS", s, OSValues()) }

// ArchiveStatus filters a list by archive state. The platform wants it in
// lower case; the constants are.
type ArchiveStatus gen.ArchiveStatus

// The archive filters of a list.
const (
	ArchiveStatusActive   = ArchiveStatus(gen.ArchiveStatusActive)
	ArchiveStatusArchived = ArchiveStatus(gen.ArchiveStatusArchived)
	ArchiveStatusAll      = ArchiveStatus(gen.ArchiveStatusAll)
)

// ArchiveStatusValues returns every archive filter.
func ArchiveStatusValues() []ArchiveStatus {
	return []ArchiveStatus{ArchiveStatusActive, ArchiveStatusArchived, ArchiveStatusAll}
}

// Valid reports whether a is one of [ArchiveStatusValues].
func (a ArchiveStatus) Valid() bool { return gen.ArchiveStatus(a).Valid() }

// String returns the wire form of a.
func (a ArchiveStatus) String() string { return string(a) }

// ParseArchiveStatus returns the archive filter named s, ignoring case and
// surrounding space. The error lists the valid values.
func ParseArchiveStatus(s string) (ArchiveStatus, error) {
	return parseEnum("ArchiveStatus", s, ArchiveStatusValues())
}

func parseEnum[E ~string](field, s string, values []E) (E, error) {
	t := strings.TrimSpace(s)
	for _, v := range values {
		if strings.EqualFold(t, string(v)) {
			return v, nil
		}
	}
	return "", &ValidationError{Field: field, Value: s, Reason: "must be one of " + quoteList(values)}
}

// checkEnum validates an optional enum field: empty is "not set".
func checkEnum[E interface {
	~string
	Valid() bool
}](field string, v E, values []E) error {
	if v == "" || v.Valid() {
		return nil
	}
	return &ValidationError{Field: field, Value: string(v), Reason: "must be one of " + quoteList(values)}
}

func quoteList[E ~string](values []E) string {
	var b strings.Builder
	for i, v := range values {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", string(v))
	}
	return b.String()
}
