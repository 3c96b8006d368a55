package istaritest

import (
	"fmt"
	"strings"
)

// Operation names one operation of the job API by its operationId in
// api/openapi.yaml. Faults and request counts use it.
type Operation string

// The operations of the job API, one per operationId.
const (
	OpAddJob                 Operation = "addJob"
	OpGetJob                 Operation = "getJob"
	OpUpdateJob              Operation = "updateJob"
	OpListJobs               Operation = "listJobs"
	OpListModelJobs          Operation = "listModelJobs"
	OpUpdateJobStatus        Operation = "updateJobStatus"
	OpUpdateJobAssignedAgent Operation = "updateJobAssignedAgent"
	OpRemoveJobAssignedAgent Operation = "removeJobAssignedAgent"
	OpArchiveJob             Operation = "archiveJob"
	OpRestoreJob             Operation = "restoreJob"
	OpGetJobFile             Operation = "getJobFile"
)

// Operations returns every operation, in the order of the constants.
func Operations() []Operation {
	return []Operation{
		OpAddJob, OpGetJob, OpUpdateJob, OpListJobs, OpListModelJobs, OpUpdateJobStatus,
		OpUpdateJobAssignedAgent, OpRemoveJobAssignedAgent, OpArchiveJob, OpRestoreJob, OpGetJobFile,
	}
}

// Valid reports whether o is one of [Operations].
func (o Operation) Valid() bool {
	for _, v := range Operations() {
		if o == v {
			return true
		}
	}
	return false
}

// String returns the operationId.
func (o Operation) String() string { return string(o) }

// mustOperation panics when o names no operation: a fault for an operation
// that does not exist would never fire, and the test that set it would
// pass for the wrong reason.
func mustOperation(o Operation) {
	if o.Valid() {
		return
	}
	names := make([]string, 0, len(Operations()))
	for _, v := range Operations() {
		names = append(names, string(v))
	}
	panic(fmt.Sprintf("istaritest: %q is not an operation; use one of the Op constants: %s", string(o), strings.Join(names, ", ")))
}
