# segd — run `make` to list targets.
GO ?= go
PKGS := ./...

.PHONY: help build test test-race fuzz bench lint e2e demo peers

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## build the static segd binary into ./bin/segd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "-s -w -X main.version=$$(git describe --always --dirty 2>/dev/null || echo dev)" -o bin/segd ./cmd/segd

test: ## run every test (the README's test command)
	$(GO) test -count=1 $(PKGS)

test-race: ## run the tests with the race detector
	$(GO) test -race -count=1 $(PKGS)

fuzz: ## run each fuzz target briefly (FUZZTIME=10s)
	./scripts/fuzz.sh $${FUZZTIME:-10s}

bench: ## run the Go benchmarks
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

peers: ## compare segd with DuckDB and PostgreSQL (SIZE=small|1m)
	cd bench/peers && $(GO) run . -size $${SIZE:-small}

lint: ## gofmt, go vet (and staticcheck when installed)
	@test -z "$$(gofmt -l .)" || (gofmt -l . && false)
	$(GO) vet $(PKGS)
	@command -v staticcheck >/dev/null && staticcheck $(PKGS) || true

e2e: ## end-to-end tests only (real server, real client, subprocess kills)
	$(GO) test -count=1 -run 'EndToEnd|Fixtures|BadInput|Kill|Import' ./cmd/segd

demo: build ## run segd with demo data
	./bin/segd demo
