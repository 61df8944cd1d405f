#!/usr/bin/env bash
# `make demo`: start the studio-dev sandbox, apply the sample organisation, wait until
# the operator has reconciled it into the Studio user store, and show the result.
#
#   hack/demo.sh [DIR]        (DIR defaults to $DEMO_DIR, then .demo)
#
# Environment:
#   DEMO_DIR       sandbox directory (the Makefile passes it as DIR)
#   DEMO_EXIT=1    show everything, then stop the sandbox and exit (for tests and CI)
#   DEMO_KEEP=1    resume the sandbox state left in DIR instead of starting afresh
#   DEMO_TIMEOUT   seconds to wait for the sandbox to be ready (default 300)
#   DEMO_USER      the StudioUser whose effective access is shown (default diego, else
#                  the first one)
#   STUDIO_BIN     where studio-dev and kubectl-studio are (default bin/)
#
# Expects bin/studio-dev and bin/kubectl-studio (make build) and the control-plane
# binaries (make envtest-assets); `make demo` provides all of them.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
dir=${1:-${DEMO_DIR:-.demo}}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
timeout=${DEMO_TIMEOUT:-300}
wait_timeout=${DEMO_WAIT_TIMEOUT:-120s}

# Bold headings on a terminal only, so logs and test output stay plain.
if [[ -t 1 ]]; then bold=$'\033[1m' plain=$'\033[0m'; else bold='' plain=''; fi
say() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '    %s\n' "$*"; }
die() { printf 'demo: %s\n' "$*" >&2; exit 1; }

bindir=${STUDIO_BIN:-$repo/bin}
[[ $bindir == /* ]] || bindir=$repo/$bindir
for b in studio-dev kubectl-studio; do
  [[ -x $bindir/$b ]] || die "$bindir/$b is missing: run 'make demo' (or 'make build')"
done
command -v kubectl >/dev/null || die "kubectl is not on PATH"
# `kubectl studio ...` finds the plugin on PATH.
export PATH="$bindir:$PATH"

if [[ ${DEMO_KEEP:-} != 1 ]]; then
  # Only what studio-dev writes, so a DEMO_DIR pointing somewhere precious loses nothing else.
  rm -rf "$dir/etcd" "$dir/mail" "$dir"/studio.db "$dir"/studio.db-* \
    "$dir/kubeconfig" "$dir/env" "$dir/ready" "$dir/studio-dev.log" "$dir/studio-dev.out"
fi
rm -f "$dir/ready"

say "Starting the sandbox in $dir"
note "control plane (etcd + kube-apiserver), Studio user store on SQLite, operator — one process"
note "(the control-plane binaries were built by 'make envtest-assets': minutes the first time, cached after)"
"$bindir/studio-dev" up --dir "$dir" >"$dir/studio-dev.out" 2>&1 &
pid=$!

stopped=0
stop_sandbox() {
  [[ $stopped == 1 ]] && return 0
  stopped=1
  if kill -0 "$pid" 2>/dev/null; then
    say "Stopping the sandbox"
    kill -TERM "$pid" 2>/dev/null || true
    local rc=0
    wait "$pid" || rc=$?
    if [[ $rc != 0 ]]; then
      printf 'demo: studio-dev exited with %s; its output:\n' "$rc" >&2
      sed 's/^/    /' "$dir/studio-dev.out" >&2 || true
      return "$rc"
    fi
    note "stopped"
  fi
}
trap 'stop_sandbox' EXIT
trap 'exit 130' INT TERM

show_log_and_die() {
  printf 'demo: %s; sandbox output (%s):\n' "$1" "$dir/studio-dev.out" >&2
  sed 's/^/    /' "$dir/studio-dev.out" >&2 || true
  printf '    (detailed logs: %s)\n' "$dir/studio-dev.log" >&2
  exit 1
}

start=$SECONDS
until [[ -f $dir/ready ]]; do
  kill -0 "$pid" 2>/dev/null || show_log_and_die "studio-dev stopped before it was ready"
  (( SECONDS - start < timeout )) || show_log_and_die "the sandbox was not ready after ${timeout}s"
  sleep 0.5
done
note "ready after $((SECONDS - start))s"

# shellcheck disable=SC1091
source "$dir/env"

say "Applying the sample organisation (config/samples)"
kubectl apply --server-side -k config/samples

say "Waiting for the operator to reconcile it into the Studio (timeout $wait_timeout per kind)"
# Fully qualified: plain "rolebindings" would be Kubernetes' own RBAC RoleBindings.
for kind in agencies environments rolebindings studiousers; do
  kind=$kind.iam.studio-operator.io
  if ! kubectl wait --for=condition=Ready "$kind" --all --all-namespaces --timeout="$wait_timeout" >/dev/null; then
    kubectl get "$kind" -A -o wide >&2 || true
    show_log_and_die "$kind did not all become Ready"
  fi
  note "${kind%%.*} Ready"
done

say "Everything the operator manages: kubectl get studio -A"
kubectl get studio -A

say "The Studio's users overview: kubectl studio users"
kubectl studio users

user=${DEMO_USER:-diego}
kubectl get studiouser "$user" >/dev/null 2>&1 || user=$(kubectl get studiousers -o jsonpath='{.items[0].metadata.name}')
say "What $user can do, per environment (impersonate): kubectl studio access $user"
kubectl studio access "$user"

say "The audit trail, latest entries: kubectl studio audit --limit 10"
kubectl studio audit --limit 10

say "Explore"
# An environment where somebody is notified (Agent or Operator assigned there), so the
# who-can hint shows a non-empty answer; else the first environment.
env_ref=""
for e in $(kubectl get environments.iam.studio-operator.io -A -o jsonpath='{range .items[*]}{.metadata.namespace}/{.metadata.name}{" "}{end}'); do
  [ -z "$env_ref" ] && env_ref=$e
  if [ "$(kubectl studio who-can notify --environment "$e" 2>/dev/null | wc -l)" -gt 1 ]; then env_ref=$e; break; fi
done
hint() { printf '    %-58s # %s\n' "$1" "$2"; }
hint "source $dir/env" "KUBECONFIG, STUDIO_STORE_URL, STUDIO_STORE_TOKEN"
hint "export PATH=$bindir:\$PATH" "so 'kubectl studio' finds the plugin"
hint "kubectl get studio -A" "every Agency, Environment, RoleBinding, StudioUser"
hint "kubectl studio users" "the users overview"
hint "kubectl studio access $user" "what $user can do, per environment"
hint "kubectl studio who-can notify --environment $env_ref" "who is notified of new conversations"
hint "kubectl studio audit $user" "$user's history in the Studio"
hint "kubectl studio resend $user" "a new invitation mail in $dir/mail"
hint "ls $dir/mail" "the invitation mails (.eml)"
hint "less $dir/studio-dev.log" "manager and store logs"

say "The Studio's Users page: $STUDIO_STORE_URL/ui/"
note "open it in a browser and sign in with the store token, the value of STUDIO_STORE_TOKEN in"
note "$dir/env (an admin token: it may also invite and remove users made in the Studio)"

if [[ ${DEMO_EXIT:-} == 1 ]]; then
  stop_sandbox
  exit 0
fi
say "The sandbox keeps running; press Ctrl-C to stop it"
# `wait` returns when a signal arrives, so the INT trap runs promptly.
wait "$pid" || true
show_log_and_die "studio-dev stopped on its own"
