package istaritest

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"
)

// Fault makes the platform fail requests on purpose, to test a client's
// retries and error handling. A failed request changes nothing. The platform
// answers it with Status and the body {"detail": Detail} (on 422, the
// validation-error shape), after any latency and before authentication.
type Fault struct {
	// Operation limits the fault to one operation, such as [OpAddJob]; empty
	// means any operation. Requests that match no operation are never
	// failed. A name that is not an operation panics when the fault is
	// injected.
	Operation Operation
	// Count is how many requests to fail; 0 or less fails none.
	Count int
	// Status is the HTTP status to answer with, from 400 to 599; any other
	// value means 500.
	Status int
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds, rounded up.
	RetryAfter time.Duration
	// Detail is the error's detail; a default names the status.
	Detail string
}

func (f Fault) status() int {
	if f.Status < 400 || f.Status > 599 {
		return http.StatusInternalServerError
	}
	return f.Status
}

// problem renders the fault's answer.
func (f Fault) problem() problem {
	status := f.status()
	pr := problem{status: status, detail: f.Detail}
	if pr.detail == "" {
		pr.detail = fmt.Sprintf("injected fault: %d %s", status, http.StatusText(status))
	}
	if f.RetryAfter > 0 {
		secs := int64((f.RetryAfter + time.Second - 1) / time.Second)
		pr.retryAfter = strconv.FormatInt(secs, 10)
	}
	return pr
}

// InjectFault queues a fault. Faults apply in the order they were injected:
// a request is failed by the first fault, still counting, that matches its
// operation. It panics when f.Operation is set but names no operation.
func (p *Platform) InjectFault(f Fault) {
	if f.Operation != "" {
		mustOperation(f.Operation)
	}
	if f.Count <= 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = append(p.faults, f)
}

// FailNext fails the next n requests, of any operation, with status and, when
// retryAfter is positive, a Retry-After header.
func (p *Platform) FailNext(n, status int, retryAfter time.Duration) {
	p.InjectFault(Fault{Count: n, Status: status, RetryAfter: retryAfter})
}

// FailOperation fails the next n requests of op, such as [OpAddJob], with
// status and, when retryAfter is positive, a Retry-After header. It panics
// when op is not one of [Operations], listing them.
func (p *Platform) FailOperation(op Operation, n, status int, retryAfter time.Duration) {
	mustOperation(op)
	p.InjectFault(Fault{Operation: op, Count: n, Status: status, RetryAfter: retryAfter})
}

// ClearFaults removes every fault still pending.
func (p *Platform) ClearFaults() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.faults = nil
}

// takeFault uses up one request of the first fault that matches op.
func (p *Platform) takeFault(op Operation) (Fault, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i := range p.faults {
		f := &p.faults[i]
		if f.Operation != "" && f.Operation != op {
			continue
		}
		got := *f
		f.Count--
		if f.Count <= 0 {
			p.faults = slices.Delete(p.faults, i, i+1)
		}
		return got, true
	}
	return Fault{}, false
}
