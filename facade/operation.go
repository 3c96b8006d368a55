package facade

// Operation names one operation of the facade, such as [OpGetJob]. It is
// the value of [APIError.Operation] and of the logs' "operation" attribute,
// and what middleware and telemetry see for each request.
type Operation string

// The facade's operations. Their values are the names of the Client methods
// that make the requests.
const (
	OpAddJob                 Operation = "AddJob"
	OpGetJob                 Operation = "GetJob"
	OpUpdateJob              Operation = "UpdateJob"
	OpListJobs               Operation = "ListJobs"
	OpListModelJobs          Operation = "ListModelJobs"
	OpUpdateJobStatus        Operation = "UpdateJobStatus"
	OpUpdateJobAssignedAgent Operation = "UpdateJobAssignedAgent"
	OpRemoveJobAssignedAgent Operation = "RemoveJobAssignedAgent"
	OpArchiveJob             Operation = "ArchiveJob"
	OpRestoreJob             Operation = "RestoreJob"
	OpClaimJob               Operation = "ClaimJob"
	OpOpenJobFile            Operation = "OpenJobFile"
)

// opRaw is the operation of a request made through [Client.Raw], in the
// logs.
const opRaw Operation = "Raw"

// String returns the operation's name.
func (o Operation) String() string { return string(o) }
