// Package health holds what GitOps tools need to judge studio-operator objects: it
// renders the Argo CD health customisations (config/argocd/argocd-cm-patch.yaml) from
// the Lua scripts in config/argocd/health/, and it runs those scripts the way Argo CD
// does, so tests can check them against fixture objects next to kstatus (the library
// Flux and cli-utils use), which needs no script because the operator follows its
// conventions.
package argocdhealth
