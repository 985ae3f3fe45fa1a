# fairlock is several modules tied by go.work: the library at the root
# (etcd's client only), and modules of their own for what needs more
# (in-process etcd clusters, the embedded etcd, the command, adapters).
GO ?= go
# Every module, the library first. make test runs the tests of each.
MODULES := . etcdtest integration examples bench prometheus otel cmd/fairlock robustness
# -p 1 inside a module is not needed; modules run one after another so that
# a 2-core machine is not asked to run several etcd clusters per core.
TESTFLAGS ?= -race -count=1 -timeout 15m
# Modules that users go install (cmd/fairlock): they have no replace
# directives, which go install refuses, so go mod tidy cannot resolve this
# repository's modules at their placeholder version; scripts/tidy-check.sh
# tidies a temporary copy that adds the replaces and compares.
INSTALLABLE := cmd/fairlock

.PHONY: all test lint tidy bench demo fuzz lean compat robustness robustness-planted

all: lint test

# The library module's godoc Examples need an etcd:
# scripts/with-etcd.sh starts one for them (FAIRLOCK_TEST_ENDPOINTS) and stops
# it after. The other modules start their own.
test:
	@set -e; for m in $(MODULES); do echo "== $$m"; \
		if [ "$$m" = . ]; then GO=$(GO) scripts/with-etcd.sh $(GO) test $(TESTFLAGS) ./...; \
		else (cd $$m && $(GO) test $(TESTFLAGS) ./...); fi; done

lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; for m in $(MODULES); do (cd $$m && $(GO) vet ./...); done
	@set -e; for m in $(filter-out $(INSTALLABLE),$(MODULES)); do (cd $$m && $(GO) mod tidy -diff); done
	@set -e; for m in $(INSTALLABLE); do GO=$(GO) scripts/tidy-check.sh $$m; done

tidy:
	@set -e; for m in $(filter-out $(INSTALLABLE),$(MODULES)); do (cd $$m && $(GO) mod tidy); done
	@set -e; for m in $(INSTALLABLE); do GO=$(GO) scripts/tidy-check.sh -w $$m; done

bench:
	$(GO) run ./bench -out bench/results

demo:
	$(GO) run ./examples/jobs

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime 30s ./internal/keys
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/keys

# A fresh consumer module that imports only fairmutex must stay under
# LEAN_LIMIT (40) modules in its go.sum, and, built at the library's minimum
# versions (etcd client v3.5), lock for real against an etcd.
lean:
	GO=$(GO) scripts/with-etcd.sh scripts/lean.sh

# Real etcd servers 3.4 (Debian's) to 3.7 (built from the module proxy,
# cached in ~/.cache/fairlock-compat): the smoke suite and examples/jobs
# against each. Not in CI: a cold cache builds three etcd servers.
compat:
	GO=$(GO) scripts/compat.sh

# The robustness suite (docs/robustness.md): a real three-process etcd
# cluster under kills, pauses and partitions for DUR, every primitive and
# the command in worker processes, histories checked (porcupine among the
# checkers). SEED replays a run's schedule; FAULTS picks kinds of fault.
# make test runs only the suite's own unit tests.
DUR ?= 60s
robustness:
	DUR=$(DUR) SEED=$(SEED) FAULTS=$(FAULTS) GO=$(GO) scripts/robustness.sh

# Each planted bug (robustness/planted/*.patch) applied to a copy of the
# tree, the suite run on it: every run must FAIL, and says why.
robustness-planted:
	GO=$(GO) scripts/robustness-planted.sh
