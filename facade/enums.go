package facade

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// JobStatusName is the name of a job status, such as Running or Completed.
// Values sent by a newer server that this SDK does not know decode without
// error; [JobStatusName.Valid] reports false for them.
type JobStatusName string

// The job statuses of the platform. The usual path is Pending, Claimed,
// Validating, Running, Uploading, Completed.
const (
	JobStatusCreated    JobStatusName = "Created"
	JobStatusPending    JobStatusName = "Pending"
	JobStatusClaimed    JobStatusName = "Claimed"
	JobStatusValidating JobStatusName = "Validating"
	JobStatusRunning    JobStatusName = "Running"
	JobStatusUploading  JobStatusName = "Uploading"
	JobStatusCompleted  JobStatusName = "Completed"
	JobStatusFailed     JobStatusName = "Failed"
	JobStatusCanceled   JobStatusName = "Canceled"
	JobStatusUnknown    JobStatusName = "Unknown"
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
func (s JobStatusName) Valid() bool {
	switch s {
	case JobStatusCreated, JobStatusPending, JobStatusClaimed, JobStatusValidating, JobStatusRunning,
		JobStatusUploading, JobStatusCompleted, JobStatusFailed, JobStatusCanceled, JobStatusUnknown:
		return true
	}
	return false
}

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
type OS string

// The operating systems known to the platform so far.
const (
	OSWindows10         OS = "Windows 10"
	OSWindows11         OS = "Windows 11"
	OSWindowsServer2019 OS = "Windows Server 2019"
	OSWindowsServer2022 OS = "Windows Server 2022"
	OSUbuntu2204        OS = "Ubuntu 22.04"
	OSUbuntu2404        OS = "Ubuntu 24.04"
	OSRHEL8             OS = "RHEL 8"
	OSRHEL9             OS = "RHEL 9"
	OSMacOS15           OS = "macOS 15"
)

// OSValues returns every operating system the SDK knows.
func OSValues() []OS {
	return []OS{
		OSWindows10, OSWindows11, OSWindowsServer2019, OSWindowsServer2022,
		OSUbuntu2204, OSUbuntu2404, OSRHEL8, OSRHEL9, OSMacOS15,
	}
}

// Valid reports whether o is one of [OSValues].
func (o OS) Valid() bool {
	switch o {
	case OSWindows10, OSWindows11, OSWindowsServer2019, OSWindowsServer2022,
		OSUbuntu2204, OSUbuntu2404, OSRHEL8, OSRHEL9, OSMacOS15:
		return true
	}
	return false
}

// String returns the wire form of o.
func (o OS) String() string { return string(o) }

// ParseOS returns the operating system named s, ignoring case and surrounding
// space. The error lists the valid values.
func ParseOS(s string) (OS, error) { return parseEnum("OS", s, OSValues()) }

// ArchiveStatus filters a list by archive state. The platform wants it in
// lower case; the constants are.
type ArchiveStatus string

// The archive filters of a list.
const (
	ArchiveStatusActive   ArchiveStatus = "active"
	ArchiveStatusArchived ArchiveStatus = "archived"
	ArchiveStatusAll      ArchiveStatus = "all"
)

// ArchiveStatusValues returns every archive filter.
func ArchiveStatusValues() []ArchiveStatus {
	return []ArchiveStatus{ArchiveStatusActive, ArchiveStatusArchived, ArchiveStatusAll}
}

// Valid reports whether a is one of [ArchiveStatusValues].
func (a ArchiveStatus) Valid() bool {
	return a == ArchiveStatusActive || a == ArchiveStatusArchived || a == ArchiveStatusAll
}

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

// ArchiveStatusName is the state an entry of an archive history records:
// Active or Archived. Unlike [ArchiveStatus], the list filter, it is
// written in title case.
type ArchiveStatusName string

// The states of an archive history.
const (
	ArchiveStatusNameActive   ArchiveStatusName = "Active"
	ArchiveStatusNameArchived ArchiveStatusName = "Archived"
)

// ArchiveStatusNameValues returns every archive state the SDK knows.
func ArchiveStatusNameValues() []ArchiveStatusName {
	return []ArchiveStatusName{ArchiveStatusNameActive, ArchiveStatusNameArchived}
}

// Valid reports whether n is one of [ArchiveStatusNameValues].
func (n ArchiveStatusName) Valid() bool {
	return n == ArchiveStatusNameActive || n == ArchiveStatusNameArchived
}

// String returns the wire form of n.
func (n ArchiveStatusName) String() string { return string(n) }

// WithLenientEnums makes the client send enum values it does not list (an
// operating system, a job status or an archive filter), for a platform
// newer than the SDK: the list of operating systems is not public, so the
// SDK's will lag behind it. Without it such a value is refused before
// anything is sent. Even with it, an empty value (where one is required),
// surrounding space and control characters are refused.
func WithLenientEnums() Option { return func(c *config) { c.lenientEnums = true } }

// checkEnum validates an optional enum field: empty is "not set". A value
// outside values is refused unless lenient is set; a lenient value must
// still be clean text.
func checkEnum[E interface {
	~string
	Valid() bool
}](field string, v E, values []E, lenient bool) error {
	if v == "" || v.Valid() {
		return nil
	}
	s := string(v)
	if strings.TrimSpace(s) != s {
		return &ValidationError{Field: field, Value: s, Reason: "must not have surrounding space"}
	}
	if strings.ContainsFunc(s, unicode.IsControl) || !utf8.ValidString(s) {
		return &ValidationError{Field: field, Value: s, Reason: "must not contain control characters or invalid UTF-8"}
	}
	if lenient {
		return nil
	}
	return &ValidationError{Field: field, Value: s, Reason: "must be one of " + quoteList(values) +
		" (a value the SDK does not list yet is sent with the client option facade.WithLenientEnums())"}
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
