# Targets with a "## " comment are listed by `make help`.
GO ?= go

.DEFAULT_GOAL := help
.PHONY: help build test lint tidy ramdisk agent

help: ## list the targets
	@awk 'BEGIN { FS = ":.*## " } /^[a-zA-Z_-]+:.*## / { printf "  %-8s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

build: ## build bin/metalplane
	$(GO) build -o bin/metalplane ./cmd/metalplane

test: ## gofmt check, go vet, race tests on SQLite and PostgreSQL (scripts/test.sh)
	scripts/test.sh

lint: ## go vet and the gofmt check
	$(GO) vet ./...
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi

tidy: ## go mod tidy
	$(GO) mod tidy

agent: ## build bin/metalplane-agent, the deploy agent (static)
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags='-s -w' -o bin/metalplane-agent ./cmd/metalplane-agent

ramdisk: ## build the deploy ramdisk (vmlinuz, initrd.gz) from Debian packages (scripts/build-ramdisk.sh)
	scripts/build-ramdisk.sh $(RAMDISK_DIR)
