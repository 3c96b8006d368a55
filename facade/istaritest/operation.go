package istaritest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/istari-go/sdk/facade"
)

// Operation names one operation of the job API. It is [facade.Operation],
// so the names are the facade's (such as "AddJob"), and faults and request
// counts use them.
type Operation = facade.Operation

// The operations the platform serves, one per operationId of
// api/openapi.yaml. They are the facade's constants.
const (
	OpAddJob                 = facade.OpAddJob
	OpGetJob                 = facade.OpGetJob
	OpUpdateJob              = facade.OpUpdateJob
	OpListJobs               = facade.OpListJobs
	OpListModelJobs          = facade.OpListModelJobs
	OpUpdateJobStatus        = facade.OpUpdateJobStatus
	OpUpdateJobAssignedAgent = facade.OpUpdateJobAssignedAgent
	OpRemoveJobAssignedAgent = facade.OpRemoveJobAssignedAgent
	OpArchiveJob             = facade.OpArchiveJob
	OpRestoreJob             = facade.OpRestoreJob
	// OpOpenJobFile is the operationId getJobFile, GET /jobs/{job_id}/file.
	OpOpenJobFile = facade.OpOpenJobFile
)

// operationIDs maps each operationId of api/openapi.yaml to the operation
// the platform counts and faults it as. A claim ([facade.OpClaimJob]) is a
// status update on the wire, so it counts as [OpUpdateJobStatus].
var operationIDs = map[string]Operation{
	"addJob":                 OpAddJob,
	"getJob":                 OpGetJob,
	"updateJob":              OpUpdateJob,
	"listJobs":               OpListJobs,
	"listModelJobs":          OpListModelJobs,
	"updateJobStatus":        OpUpdateJobStatus,
	"updateJobAssignedAgent": OpUpdateJobAssignedAgent,
	"removeJobAssignedAgent": OpRemoveJobAssignedAgent,
	"archiveJob":             OpArchiveJob,
	"restoreJob":             OpRestoreJob,
	"getJobFile":             OpOpenJobFile,
}

// Operations returns every operation the platform serves, in the order of
// the constants.
func Operations() []Operation {
	return []Operation{
		OpAddJob, OpGetJob, OpUpdateJob, OpListJobs, OpListModelJobs, OpUpdateJobStatus,
		OpUpdateJobAssignedAgent, OpRemoveJobAssignedAgent, OpArchiveJob, OpRestoreJob, OpOpenJobFile,
	}
}

// operationOf returns the operation of an operationId, or the operationId
// itself when the table lacks it (a spec newer than this file), so that it
// is still counted under a name.
func operationOf(operationID string) Operation {
	if op, ok := operationIDs[operationID]; ok {
		return op
	}
	return Operation(operationID)
}

// mustOperation panics when o names no operation the platform serves: a
// fault for an operation that does not exist would never fire, and the test
// that set it would pass for the wrong reason.
func mustOperation(o Operation) {
	if slices.Contains(Operations(), o) {
		return
	}
	names := make([]string, 0, len(Operations()))
	for _, v := range Operations() {
		names = append(names, string(v))
	}
	panic(fmt.Sprintf("istaritest: %q is not an operation; use one of the Op constants: %s", string(o), strings.Join(names, ", ")))
}
