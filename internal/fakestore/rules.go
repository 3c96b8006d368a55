package fakestore

import (
	"fmt"

	"github.com/istari-go/sdk/gen"
)

// final tells whether a status ends a job: nothing may follow it.
func final(name gen.JobStatusName) bool {
	switch name {
	case gen.JobStatusNameCompleted, gen.JobStatusNameFailed, gen.JobStatusNameCanceled:
		return true
	}
	return false
}

// Claimant returns the agent that holds the job's current claim: the agent
// of the last Claimed entry of hist since the job was last Created or
// Pending. It returns false when the job is not claimed.
func Claimant(hist []gen.JobStatus) (string, bool) {
	for i := len(hist) - 1; i >= 0; i-- {
		switch hist[i].Name {
		case gen.JobStatusNameCreated, gen.JobStatusNamePending:
			return "", false
		case gen.JobStatusNameClaimed:
			if a := hist[i].AgentID; a != nil {
				return *a, true
			}
			return "", true // only when the rules were off
		}
	}
	return "", false
}

// CheckTransition applies the platform's status rules (our choice, written in
// api/openapi.yaml's updateJobStatus) to a status update of job jobID, whose
// history is hist, to the status to, reported by agentID (nil for none). It
// returns nil when the update is allowed, and an ErrConflict *Error whose
// detail says why otherwise:
//
//   - Completed, Failed and Canceled are final: nothing may follow them.
//   - Unknown is never accepted from a client.
//   - Claimed is accepted only while the job is Created or Pending, and only
//     with an agent id; a second claim names the current claimant.
//   - Once a job is claimed, only its claimant may report a status, except
//     Canceled, which anyone may set.
//   - Created and Pending are refused, except that the claimant may release
//     a Claimed job to Pending; it can then be claimed again.
//   - Everything else is allowed, Pending to Running without a claim included
//     (the job then has no claimant and anyone may report).
func CheckTransition(jobID string, hist []gen.JobStatus, to gen.JobStatusName, agentID *string) error {
	var cur gen.JobStatusName
	if n := len(hist); n > 0 {
		cur = hist[n-1].Name
	}
	claimant, claimed := Claimant(hist)
	conflict := func(format string, args ...any) error {
		return &Error{Kind: ErrConflict, Detail: "job " + jobID + " " + fmt.Sprintf(format, args...)}
	}
	isClaimant := claimed && agentID != nil && *agentID == claimant
	switch {
	case to == gen.JobStatusNameUnknown:
		return conflict("cannot be set to Unknown: a client never may")
	case final(cur):
		return conflict("is %s, a final status: no status may follow it", cur)
	case to == gen.JobStatusNameCanceled:
		return nil
	case to == gen.JobStatusNameClaimed && claimed:
		return conflict("is already claimed by agent %q", claimant)
	case to == gen.JobStatusNameClaimed && cur != gen.JobStatusNameCreated && cur != gen.JobStatusNamePending:
		return conflict("is %s: Claimed is accepted only while a job is Created or Pending", cur)
	case to == gen.JobStatusNameClaimed && (agentID == nil || *agentID == ""):
		return conflict("cannot be claimed without an agent_id")
	case claimed && !isClaimant:
		by := "without an agent_id"
		if agentID != nil {
			by = fmt.Sprintf("by agent %q", *agentID)
		}
		return conflict("is claimed by agent %q: status %s %s is refused (only the claimant may report; anyone may cancel)", claimant, to, by)
	case to == gen.JobStatusNamePending && cur == gen.JobStatusNameClaimed && isClaimant:
		return nil // the claimant releases the job
	case to == gen.JobStatusNameCreated, to == gen.JobStatusNamePending:
		return conflict("is %s: it may not move back to %s (only its claimant may release a Claimed job to Pending)", cur, to)
	}
	return nil
}
