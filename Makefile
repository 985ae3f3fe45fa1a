# fairlock: make test runs the whole suite against in-process etcd clusters.
GO ?= go

.PHONY: all test lint bench demo fuzz

all: lint test

test:
	$(GO) test -race -count=1 -timeout 30m ./...

lint:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) mod tidy -diff

bench:
	$(GO) run ./bench -out bench/results

demo:
	$(GO) run ./examples/jobs

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzValidate -fuzztime 30s ./internal/keys
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 30s ./internal/keys
