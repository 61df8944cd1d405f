# studio-operator — see README.md. `make demo` and `make test` set up what they need.

# Control-plane versions for envtest (built from the Go module proxy, see hack/).
K8S_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.7.3
CONTROLLER_TOOLS_VERSION ?= v0.23.0

GOOS ?= $(shell go env GOOS)
GOARCH ?= $(shell go env GOARCH)
LOCALBIN ?= $(CURDIR)/bin
ENVTEST_ASSETS_DIR ?= $(LOCALBIN)/k8s/$(K8S_VERSION)-$(GOOS)-$(GOARCH)
export KUBEBUILDER_ASSETS ?= $(ENVTEST_ASSETS_DIR)
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GO_TEST_FLAGS ?= -timeout 40m
DEMO_DIR ?= $(CURDIR)/.demo

# Use bash with pipefail so failures in pipelines are not hidden.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate CRDs and RBAC from the markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/..." paths="./controllers/..." output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: docs
docs: ## Regenerate docs/crd-reference.md from the CRDs in config/crd/bases.
	go run ./hack/crdref config/crd/bases > docs/crd-reference.md.tmp
	mv docs/crd-reference.md.tmp docs/crd-reference.md

.PHONY: argocd-health
argocd-health: ## Regenerate config/argocd/argocd-cm-patch.yaml from the health check config/argocd/health/studio-operator.lua.
	go test ./internal/argocdhealth -count=1 -run 'TestArgoCDPatchMatchesScripts$$' -update

.PHONY: lint
lint: vet ## Check formatting and vet (no network tools needed).
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

.PHONY: test
test: manifests generate fmt vet envtest-assets postgres chromium ## Run all tests: unit, fuzz seeds, store on SQLite and PostgreSQL, browser, envtest, e2e.
	go test $(GO_TEST_FLAGS) ./...

.PHONY: bench
bench: postgres ## Run the benchmarks and write docs/benchmarks.md.
	hack/bench.sh docs/benchmarks.md

.PHONY: bench-e2e
bench-e2e: build envtest-assets ## Run the end-to-end scale benchmark (envtest, manager, store) and update its region of docs/benchmarks.md; BENCH_E2E_FLAGS adds flags.
	go run ./hack/bench-e2e -out docs/benchmarks.md $(BENCH_E2E_FLAGS)

.PHONY: ui-screenshots
ui-screenshots: chromium ## Regenerate the screenshots of the store's pages in docs/images/ (taken by the browser test).
	STUDIO_UI_SCREENSHOTS=$(CURDIR)/docs/images go test -count=1 -run 'TestBrowser$$' ./internal/store/ui/

.PHONY: verify
verify: manifests generate docs argocd-health chart-files ## Fail if generated files (CRDs, RBAC, deepcopy, CRD reference, Argo CD health patch, chart copies) or go.mod drifted.
	go mod tidy
	@if [ -n "$$(git status --porcelain -- api config docs/crd-reference.md charts go.mod go.sum)" ]; then \
		echo "generated files are out of date; run 'make manifests generate docs argocd-health chart-files' and 'go mod tidy' and commit:"; \
		git status --porcelain -- api config docs/crd-reference.md charts go.mod go.sum; git diff -- api config docs/crd-reference.md charts go.mod go.sum | head -50; exit 1; fi

CHART_DIR ?= charts/studio-operator

.PHONY: chart-files
chart-files: ## Copy the CRDs, the RBAC rules, the Argo CD health checks and the alerts from config/ into the Helm chart (crds/, files/).
	rm -f $(CHART_DIR)/crds/*.yaml
	cp config/crd/bases/*.yaml $(CHART_DIR)/crds/
	cp config/rbac/role.yaml config/rbac/leader_election_role.yaml config/rbac/studio_viewer_role.yaml config/rbac/studio_editor_role.yaml $(CHART_DIR)/files/rbac/
	cp config/argocd/argocd-cm-patch.yaml $(CHART_DIR)/files/
	cp config/prometheus/studio-operator-rules.yaml $(CHART_DIR)/files/

##@ Build

.PHONY: build
build: ## Build bin/manager, bin/studio-store, bin/kubectl-studio and bin/studio-dev.
	CGO_ENABLED=0 go build -o $(LOCALBIN)/ ./cmd/...

# Image names are $(IMAGE_REGISTRY)/manager and $(IMAGE_REGISTRY)/studio-store; VERSION
# (default: git describe) and IMAGE_TAG (default: VERSION) may be set on the command line.
IMAGE_REGISTRY ?= ghcr.io/studio-operator

.PHONY: images
images: ## Build the OCI image archives bin/images/manager.tar and bin/images/studio-store.tar without Docker (reproducible).
	go run ./hack/images -out $(LOCALBIN)/images -registry $(IMAGE_REGISTRY) -platform linux/$(GOARCH) $(if $(VERSION),-version $(VERSION)) $(if $(IMAGE_TAG),-tag $(IMAGE_TAG))

# The kubectl plugin's release assets (hack/dist). The manifest downloads each archive
# from $(DIST_URL_BASE)/<version>/<archive>, GitHub's address of a release's files;
# VERSION (default: from git describe) is the release tag, and DIST_PLATFORMS
# (comma-separated os/arch, default: linux, darwin, windows on amd64 and arm64) narrows
# the build.
DIST_DIR ?= $(LOCALBIN)/dist
DIST_URL_BASE ?= https://github.com/studio-operator/studio-operator/releases/download
DIST_PLATFORMS ?=

.PHONY: dist
dist: ## Build the kubectl-studio archives for 6 platforms, SHA256SUMS and the krew manifest studio.yaml into bin/dist/ (reproducible).
	go run ./hack/dist -out $(DIST_DIR) -url-base $(DIST_URL_BASE) $(if $(VERSION),-version $(VERSION)) $(if $(DIST_PLATFORMS),-platforms $(DIST_PLATFORMS))

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the cluster in KUBECONFIG.
	go run ./cmd/manager

.PHONY: demo
demo: build envtest-assets ## Start the sandbox with the sample organisation and show it.
	hack/demo.sh "$(DEMO_DIR)"

##@ Dependencies

.PHONY: envtest-assets
envtest-assets: ## Build kube-apiserver and etcd for envtest into bin/k8s/ (once; minutes the first time).
	@KUBERNETES_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/envtest-assets.sh "$(ENVTEST_ASSETS_DIR)"

.PHONY: postgres
postgres: ## Make sure PostgreSQL server binaries are installed (apt when root).
	@hack/ensure-postgres.sh

.PHONY: chromium
chromium: ## Make sure Chromium is installed for the browser tests of the store's pages (apt when root).
	@hack/ensure-chromium.sh

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen into bin/.
$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN) go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
