#!/usr/bin/env bash
# Builds the control-plane binaries envtest needs (kube-apiserver, etcd) from the Go
# module proxy, because no release download site is reachable from our machines.
#
#   hack/envtest-assets.sh OUTDIR
#
# OUTDIR (e.g. bin/k8s/1.37.2-linux-amd64) receives kube-apiserver, etcd and a kubectl
# link when kubectl is installed. Work is skipped for binaries that are already there.
# Versions come from the environment (KUBERNETES_VERSION, ETCD_VERSION), with the
# Makefile's pins as defaults.
set -euo pipefail

out=${1:?usage: envtest-assets.sh OUTDIR}
k8s_version=${KUBERNETES_VERSION:-1.37.2}
etcd_version=${ETCD_VERSION:-3.7.3}
staging_version="0.${k8s_version#1.}"   # 1.37.2 -> 0.37.2

mkdir -p "$out"
out=$(cd "$out" && pwd)

log() { printf 'envtest-assets: %s\n' "$*" >&2; }

# newmod DIR MODULE — an empty scratch module in DIR that builds MODULE's commands.
newmod() {
  rm -rf "$1" && mkdir -p "$1"
  (cd "$1" && go mod init "envtest-assets/$2" >/dev/null 2>&1)
}

build_kube_apiserver() {
  local work="$out/.build/kube-apiserver"
  log "building kube-apiserver v${k8s_version} from the Go module proxy (takes a few minutes the first time)"
  newmod "$work" kube-apiserver
  cd "$work"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with
  # ./staging paths, which do not apply to a dependency: point each at its release.
  local gomod
  gomod=$(go mod download -json "k8s.io/kubernetes@v${k8s_version}" | sed -n 's/.*"GoMod": "\(.*\)",*/\1/p')
  local staging
  staging=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" {print $1}' "$gomod" | sort -u)
  local args=()
  for m in $staging; do args+=("-replace=${m}=${m}@v${staging_version}"); done
  go mod edit "${args[@]}"
  go mod edit -require="k8s.io/kubernetes@v${k8s_version}"
  go get "k8s.io/kubernetes/cmd/kube-apiserver@v${k8s_version}" >/dev/null 2>&1 || go get "k8s.io/kubernetes/cmd/kube-apiserver@v${k8s_version}"
  local minor=${k8s_version#1.}; minor=${minor%%.*}
  local pkg=k8s.io/component-base/version
  CGO_ENABLED=0 go build -trimpath -o "$out/kube-apiserver.tmp" \
    -ldflags "-s -w -X ${pkg}.gitVersion=v${k8s_version} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor} -X ${pkg}.gitTreeState=clean" \
    k8s.io/kubernetes/cmd/kube-apiserver
  mv "$out/kube-apiserver.tmp" "$out/kube-apiserver"
}

build_etcd() {
  local work="$out/.build/etcd"
  log "building etcd v${etcd_version} from the Go module proxy"
  newmod "$work" etcd
  cd "$work"
  go get "go.etcd.io/etcd/server/v3@v${etcd_version}" >/dev/null 2>&1 || go get "go.etcd.io/etcd/server/v3@v${etcd_version}"
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$out/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$out/etcd.tmp" "$out/etcd"
}

[ -x "$out/kube-apiserver" ] || build_kube_apiserver
[ -x "$out/etcd" ] || build_etcd
if [ ! -e "$out/kubectl" ] && command -v kubectl >/dev/null 2>&1; then
  ln -s "$(command -v kubectl)" "$out/kubectl"
fi
rm -rf "$out/.build"
log "control-plane binaries ready in $out"
