{{/* Names, labels and the few values several templates compute the same way. */}}

{{- define "studio-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The release's name prefix: the release name alone when it already names the chart. */}}
{{- define "studio-operator.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "studio-operator.storeName" -}}
{{- printf "%s-store" (include "studio-operator.fullname" .) | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object; call with (dict "ctx" $ "component" "manager"|"store"). */}}
{{- define "studio-operator.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .ctx.Chart.Name .ctx.Chart.Version | replace "+" "_" }}
{{ include "studio-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/part-of: studio-operator
{{- end }}

{{- define "studio-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "studio-operator.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
{{- with .component }}
app.kubernetes.io/component: {{ . }}
{{- end }}
{{- end }}

{{/* An image reference; call with (dict "ctx" $ "image" .Values.manager.image "name" "manager"). */}}
{{- define "studio-operator.image" -}}
{{- $repository := .image.repository | default (printf "%s/%s" .ctx.Values.image.registry .name) }}
{{- if .image.digest }}
{{- printf "%s@%s" $repository .image.digest }}
{{- else }}
{{- printf "%s:%s" $repository (.image.tag | default .ctx.Values.image.tag | default .ctx.Chart.AppVersion) }}
{{- end }}
{{- end }}

{{- define "studio-operator.serviceAccountName" -}}
{{- if .Values.manager.serviceAccount.create }}
{{- .Values.manager.serviceAccount.name | default (include "studio-operator.fullname" .) }}
{{- else }}
{{- required "manager.serviceAccount.name is required when manager.serviceAccount.create is false" .Values.manager.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* "true" when the managers elect a leader: with more than one replica. */}}
{{- define "studio-operator.leaderElection" -}}
{{- if gt (int .Values.manager.replicas) 1 }}true{{ end }}
{{- end }}

{{- define "studio-operator.storeURL" -}}
{{- if .Values.manager.storeURL }}
{{- .Values.manager.storeURL }}
{{- else if .Values.store.enabled }}
{{- printf "http://%s:8080" (include "studio-operator.storeName" .) }}
{{- else }}
{{- fail "manager.storeURL is required when store.enabled is false" }}
{{- end }}
{{- end }}

{{- define "studio-operator.publicURL" -}}
{{- .Values.store.publicURL | default (printf "http://%s.%s.svc:8080" (include "studio-operator.storeName" .) .Release.Namespace) }}
{{- end }}

{{/* The Secret with the manager's token, and the Secret with the store's tokens file. */}}
{{- define "studio-operator.managerTokenSecret" -}}
{{- .Values.tokens.manager.existingSecret | default (printf "%s-store-token" (include "studio-operator.fullname" .)) }}
{{- end }}

{{- define "studio-operator.storeTokensSecret" -}}
{{- .Values.tokens.store.existingSecret | default (printf "%s-store-tokens" (include "studio-operator.fullname" .)) }}
{{- end }}

{{/*
The generated token of the manager: the one already installed (so upgrades keep it),
else a new random one. Computed once per render and remembered in .Values, because the
token Secret, the store's tokens file and the pods' checksums must all see the same one.
*/}}
{{- define "studio-operator.generatedToken" -}}
{{- if not (hasKey .Values.tokens "generated") }}
{{- $token := randAlphaNum 48 }}
{{- $installed := lookup "v1" "Secret" .Release.Namespace (include "studio-operator.managerTokenSecret" .) }}
{{- if and $installed $installed.data }}
{{- with index $installed.data .Values.tokens.manager.key }}
{{- $token = b64dec . }}
{{- end }}
{{- end }}
{{- $_ := set .Values.tokens "generated" $token }}
{{- end }}
{{- .Values.tokens.generated }}
{{- end }}

{{/* The store's tokens file when the chart writes it. */}}
{{- define "studio-operator.tokensFile" -}}
# role   subject          digest of the token
admin    studio-operator  sha256:{{ include "studio-operator.generatedToken" . | sha256sum }}
{{- range .Values.tokens.extra }}
{{ . }}
{{- end }}
{{- end }}

{{/* Settings the templates cannot express in the schema: refuse them with a reason. */}}
{{- define "studio-operator.validate" -}}
{{- if and .Values.store.enabled (eq .Values.store.database "sqlite") (ne (int .Values.store.replicas) 1) }}
{{- fail "store.replicas must be 1 with store.database=sqlite (one writer on a ReadWriteOnce volume); use store.database=postgres for more replicas" }}
{{- end }}
{{- if and .Values.store.enabled (eq .Values.store.database "postgres") (not .Values.store.postgres.existingSecret) }}
{{- fail "store.postgres.existingSecret is required with store.database=postgres: a Secret holding the connection URL" }}
{{- end }}
{{- if and .Values.store.enabled (eq .Values.store.database "postgres") (not .Values.store.linkKey.existingSecret) }}
{{- fail "store.linkKey.existingSecret is required with store.database=postgres: every replica must derive invitation links from the same key (a Secret holding it)" }}
{{- end }}
{{- if and .Values.store.enabled .Values.tokens.manager.existingSecret (not .Values.tokens.store.existingSecret) }}
{{- fail "tokens.store.existingSecret is required when tokens.manager.existingSecret is set: the chart cannot write the digest of a token it does not know" }}
{{- end }}
{{- if and (not .Values.store.enabled) (not .Values.tokens.manager.existingSecret) }}
{{- fail "tokens.manager.existingSecret is required when store.enabled is false: the token of the other store" }}
{{- end }}
{{- if and .Values.tokens.store.existingSecret .Values.tokens.extra }}
{{- fail "tokens.extra goes into the generated tokens file; with tokens.store.existingSecret, add the lines to that Secret" }}
{{- end }}
{{- end }}

{{/* The pod and container security settings of both components (restricted Pod Security Standard). */}}
{{- define "studio-operator.podSecurityContext" -}}
runAsNonRoot: true
# The images' nonroot user; fsGroup lets it read the mounted Secrets (0440) and write the volume.
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{- define "studio-operator.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop:
  - ALL
{{- end }}

{{/* Scheduling settings; call with the component's values. */}}
{{- define "studio-operator.scheduling" -}}
{{- with .nodeSelector }}
nodeSelector:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .tolerations }}
tolerations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .affinity }}
affinity:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .topologySpreadConstraints }}
topologySpreadConstraints:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- with .priorityClassName }}
priorityClassName: {{ . }}
{{- end }}
{{- end }}

{{/*
A Role or ClusterRole taken from one of the files/rbac copies of config/rbac (`make
chart-files`), renamed into the release; call with (dict "ctx" $ "file" "role.yaml"
"kind" "ClusterRole" "from" "manager-role" "name" "…" "namespace" "…" (Role only)).
Only the rules are taken, so the chart follows the RBAC markers without a copy by hand.
*/}}
{{- define "studio-operator.rulesFrom" -}}
{{- $found := false }}
{{- range $doc := regexSplit "(?m)^---\\s*$" (.ctx.Files.Get (printf "files/rbac/%s" .file)) -1 }}
{{- $obj := fromYaml $doc }}
{{- if and $obj (eq (get $obj "kind") $.kind) (eq $obj.metadata.name $.from) }}
{{- $found = true }}
rules:
{{- toYaml $obj.rules | nindent 0 }}
{{- end }}
{{- end }}
{{- if not $found }}
{{- fail (printf "files/rbac/%s has no %s %s (run make chart-files)" .file .kind .from) }}
{{- end }}
{{- end }}

{{/* The labels of a role in files/rbac (the aggregation labels), with the chart's. */}}
{{- define "studio-operator.aggregationLabels" -}}
{{- range $doc := regexSplit "(?m)^---\\s*$" ($.ctx.Files.Get (printf "files/rbac/%s" .file)) -1 }}
{{- $obj := fromYaml $doc }}
{{- if and $obj (eq $obj.metadata.name $.from) }}
{{- range $k, $v := $obj.metadata.labels }}
{{- if hasPrefix "rbac.authorization.k8s.io/" $k }}
{{ $k }}: {{ $v | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
