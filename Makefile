# Istari jobs SDK for Go. `make help` lists the targets.
SHELL := /bin/bash
GO ?= go
OAPI_CODEGEN := $(GO) run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOFILES = $(shell git ls-files --cached --others --exclude-standard '*.go' | grep -v '^gen/')
FUZZTIME ?= 60s
BENCHOUT ?= bench.txt
BENCHCOUNT ?= 5
# Each group of benchmarks gets its own -benchtime in the bench target, so
# that the whole run takes about two minutes on two cores.
BENCHRUN = set -o pipefail; $(GO) test -run='^$$' -benchmem -count=$(BENCHCOUNT) -timeout=10m
# The targets of issues 6, 12, 21 and 22, checked on the medians by internal/benchratio.
BENCHTARGETS = \
	-target='GetJob/client=facade:client=generated:sec/op<=1.00' \
	-target='GetJob/client=facade:client=generated:allocs/op<=1.00' \
	-target='GetJob/client=facade:client=raw:sec/op<=1.00' \
	-target='GetJob/client=facade:client=raw:allocs/op<=1.00' \
	-target='ListJobs/client=facade:client=generated:sec/op<=0.80' \
	-target='ListJobs/client=facade:client=generated:allocs/op<=0.80' \
	-target='DecodePage/decoder=facade:decoder=encoding-json:sec/op<=0.50' \
	-target='GetJobConcurrent/client=facade:client=raw:req/s>=0.9' \
	-target='GetJobConcurrent/client=facade:new-conns/op<=0' \
	-target='Upload256MiB/link=1GBps/client=facade:client=raw-multipart:MB/s>=0.95' \
	-target='Upload256MiB/link=loopback/client=facade:client=raw-multipart:MB/s>=0.6' \
	-target='Upload256MiB/link=1GBps/client=facade:heap-MiB<=8' \
	-target='Upload256MiB/link=loopback/client=facade:heap-MiB<=8' \
	-target='AllJobs10k/prefetch=default:prefetch=0:sec/op<=0.5' \
	-target='WaitForJobs1000/wait=bulk:wait=each:req/op<=0.05' \
	-target='WaitForJobs1000/wait=bulk:wait=each:sec/op<=1.2' \
	-target='AddJobs1000/submit=batch:submit=sequential:jobs/s>=6' \
	-target='AddJobs1000/submit=batch-ratelimited:429-pct-adapted<=10' \
	-target='Agents:req/job<=5' \
	-target='GetJobTelemetry/telemetry=on:telemetry=off:sec/op<=1.05'
# The baselines the ratios are taken against (issue 6, then issue 13, then issue 21, then issue 22).
BENCHBASE = client=generated,client=raw,client=raw-multipart,prefetch=0,wait=each,submit=sequential,telemetry=off,decoder=encoding-json
# The "Many jobs" benchmarks take seconds a run; three runs give a median.
BATCHBENCHCOUNT ?= 3

.PHONY: help generate check-generated build install test lint bench fuzz demo serve spec-drill api-snapshot

help: ## List the targets.
	@grep -E '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

generate: ## Regenerate gen/ from api/openapi.yaml with the pinned oapi-codegen.
	$(OAPI_CODEGEN) -config api/client.cfg.yaml api/openapi.yaml
	$(OAPI_CODEGEN) -config api/server.cfg.yaml api/openapi.yaml

check-generated: generate ## Regenerate gen/ and fail if it differs from what is committed.
	@if [ -n "$$(git status --porcelain -- gen/)" ]; then \
		echo "gen/ is stale: run 'make generate' and commit the result"; git status --porcelain -- gen/; git --no-pager diff --stat -- gen/; exit 1; \
	fi

api-snapshot: ## Write the exported API of facade and facade/istaritest to api/snapshot (add a CHANGELOG.md entry for the change).
	$(GO) run ./internal/apisnap -w

build: ## Build every package and the istari-jobs command.
	$(GO) build ./...

install: ## Install istari-jobs into $(go env GOBIN), or $(go env GOPATH)/bin when GOBIN is unset.
	$(GO) install ./cmd/istari-jobs
	@dir=$$($(GO) env GOBIN); [ -n "$$dir" ] || dir=$$($(GO) env GOPATH)/bin; \
		echo "installed $$dir/istari-jobs"; \
		case ":$$PATH:" in *":$$dir:"*) ;; *) echo "note: $$dir is not on your PATH";; esac

test: ## go vet, the race-enabled test suite (with fuzz seed corpora and the API snapshot check), the allocation tests without -race, and the gen/ freshness check.
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout=15m ./...
	$(GO) test -count=1 -timeout=2m -run='^TestAllocations$$' ./...
	$(MAKE) --no-print-directory check-generated

lint: ## gofmt (outside gen/), go vet and staticcheck.
	@out=$$(gofmt -l $(GOFILES)); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(STATICCHECK) ./...

bench: ## Run the benchmarks (-benchmem -count=5) into $(BENCHOUT) and print the ratios.
	@: > $(BENCHOUT)
	$(BENCHRUN) -bench='^Benchmark(GetJob|ListJobs|DecodePage)$$' -benchtime=300ms ./facade/ | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench='^BenchmarkGetJobTelemetry$$' -benchtime=300ms ./facade/istariotel/ | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench='^BenchmarkGetJobConcurrent$$' -benchtime=1x ./facade/ | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench='^BenchmarkUpload256MiB$$' -benchtime=2x ./facade/ | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench='^BenchmarkAllJobs10k$$' -benchtime=1x ./facade/ | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench='^BenchmarkWaitForJob$$' -benchtime=200ms ./facade/ | tee -a $(BENCHOUT)
	$(BENCHRUN) -bench=. -benchtime=200ms ./internal/jsonvalid/ | tee -a $(BENCHOUT)
	$(BENCHRUN) -count=$(BATCHBENCHCOUNT) -bench='^Benchmark(WaitForJobs1000|AddJobs1000|Agents)$$' -benchtime=1x ./facade/ | tee -a $(BENCHOUT)
	@echo; echo "WaitForJob's schedule with the default WaitOptions, on a fake clock:"
	@set -o pipefail; $(GO) test -run='^TestWaitForJobBackoffSchedule$$' -count=1 -v ./facade/ | sed -n 's/^ *bench_internal_test.go:[0-9]*: /  /p'
	$(GO) run ./internal/benchratio -base='$(BENCHBASE)' $(BENCHTARGETS) $(BENCHOUT)

fuzz: ## Run each fuzz target for $(FUZZTIME).
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list='^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
			echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
		done; \
	done

demo: ## Walk one job through its whole life (on the in-memory platform unless ISTARI_REGISTRY_URL is set).
	$(GO) run ./cmd/istari-jobs demo

spec-drill: ## Rehearse a spec change in a temp copy: a new Job field and status, make generate, build, vet, the README's examples, and the field read through Job.Wire().
	$(GO) run ./internal/specdrill

serve: ## Run the in-memory platform on 127.0.0.1:8080.
	$(GO) run ./cmd/istari-jobs serve
