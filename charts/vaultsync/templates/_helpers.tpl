{{/*
Names, labels and the rules shared by the templates. Every object name derives from
"vaultsync.fullname"; the webhook configurations, the Deployment and the Services all take their
ports and paths from the helpers below so that the wiring cannot drift apart.
*/}}

{{- define "vaultsync.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "vaultsync.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 52 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 52 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Cluster-scoped objects carry the release namespace: shards in other namespaces do not collide. */}}
{{- define "vaultsync.clusterName" -}}
{{- printf "%s-%s" (include "vaultsync.fullname" .) .Release.Namespace | trunc 253 | trimSuffix "-" }}
{{- end }}

{{- define "vaultsync.selectorLabels" -}}
app.kubernetes.io/name: {{ include "vaultsync.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "vaultsync.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "vaultsync.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: vaultsync
{{- end }}

{{- define "vaultsync.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "vaultsync.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "vaultsync.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{- define "vaultsync.hmacSecretName" -}}
{{- default (printf "%s-hmac" (include "vaultsync.fullname" .)) .Values.hmac.existingSecret }}
{{- end }}

{{- define "vaultsync.webhookServiceName" -}}
{{- printf "%s-webhook" (include "vaultsync.fullname" .) }}
{{- end }}

{{- define "vaultsync.webhookTLSSecretName" -}}
{{- printf "%s-webhook-tls" (include "vaultsync.fullname" .) }}
{{- end }}

{{- define "vaultsync.webhookCertificateName" -}}
{{- printf "%s-webhook" (include "vaultsync.fullname" .) }}
{{- end }}

{{- define "vaultsync.metricsServiceName" -}}
{{- printf "%s-metrics" (include "vaultsync.fullname" .) }}
{{- end }}

{{/* The Service port the API server calls; the Service forwards it to .Values.webhook.port. */}}
{{- define "vaultsync.webhookServicePort" -}}443{{- end }}

{{/*
URL paths of the admission webhooks. kopf serves a webhook handler at /<handler id>, so these
are the ids of the operator's approvalrequest admission handlers (a contract with handlers/).
*/}}
{{- define "vaultsync.validatingWebhookPath" -}}/validate-approvalrequest{{- end }}
{{- define "vaultsync.mutatingWebhookPath" -}}/mutate-approvalrequest{{- end }}

{{/* Where the webhook serving certificate (tls.crt, tls.key, ca.crt) is mounted. */}}
{{- define "vaultsync.webhookCertDir" -}}/etc/vaultsync/webhook-tls{{- end }}

{{/* Name of the Lease (in the release namespace) whose holder is the replica that syncs. */}}
{{- define "vaultsync.leaseName" -}}
{{- include "vaultsync.fullname" . }}-leader
{{- end }}

{{- define "vaultsync.validate" -}}
{{- if and (gt (int .Values.replicas) 1) (not .Values.ha.enabled) }}
{{- fail "replicas > 1 needs ha.enabled=true: without leader election every replica would sync every resource" }}
{{- end }}
{{- end }}

{{/*
The rules of the operator over the namespaced resources it handles: bound cluster-wide by a
ClusterRole, or per watched namespace by a Role. No wildcard, no verb beyond what a handler uses.
Secrets: RBAC cannot filter by label, and the names of the Secrets the operator writes are chosen
by users in ManagedSecret specs, so `resourceNames` cannot express "only the Secrets vaultsync
manages"; the operator itself refuses to touch a Secret without its ownership mark.
*/}}
{{- define "vaultsync.namespacedRules" -}}
- apiGroups: ["vaultsync.io"]
  resources: ["managedsecrets", "vaultprofiles", "approvalrequests"]
  verbs: ["get", "list", "watch", "patch", "update"]
- apiGroups: ["vaultsync.io"]
  resources: ["approvalrequests"]
  verbs: ["create", "delete"]
- apiGroups: ["vaultsync.io"]
  resources: ["managedsecrets/status", "vaultprofiles/status", "approvalrequests/status"]
  verbs: ["get", "patch", "update"]
- apiGroups: [""]
  resources: ["events"]
  verbs: ["create"]
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch", "create", "update", "patch", "delete"]
- apiGroups: [""]
  resources: ["pods"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["apps"]
  resources: ["deployments", "statefulsets", "daemonsets"]
  verbs: ["get", "list", "watch", "patch"]
- apiGroups: ["batch"]
  resources: ["jobs", "cronjobs"]
  verbs: ["get", "list", "watch"]
{{- if .Values.rbac.serviceAccountTokens }}
- apiGroups: [""]
  resources: ["serviceaccounts/token"]
  verbs: ["create"]
{{- end }}
{{- end }}

{{/*
Label matchers that select this installation's series in PromQL (without braces): the value of
metrics.selector, else the release namespace (the label prometheus-operator adds to every target).
*/}}
{{- define "vaultsync.metricsSelector" -}}
{{- if .Values.metrics.selector -}}{{ .Values.metrics.selector }}{{- else -}}namespace="{{ .Release.Namespace }}"{{- end -}}
{{- end }}

{{/*
Environment of the tuning values that are set (sync.*, ha lease timings); an unset (null) value
keeps the operator's default, so an upgrade of the operator may change it.
*/}}
{{- define "vaultsync.tuningEnv" -}}
{{- $sync := .Values.sync | default dict -}}
{{- $ha := .Values.ha | default dict -}}
{{- $env := dict
  "VAULTSYNC_SYNC_WORKERS" $sync.workers
  "VAULTSYNC_SYNC_THREADS" $sync.threads
  "VAULTSYNC_OPERATOR_QPS" $sync.qps
  "VAULTSYNC_OPERATOR_BURST" $sync.burst
  "VAULTSYNC_BACKEND_CONCURRENCY" $sync.backendConcurrency
  "VAULTSYNC_HTTP_TIMEOUT" $sync.httpTimeoutSeconds
  "VAULTSYNC_DEFAULT_REFRESH_SECONDS" $sync.defaultRefreshSeconds
  "VAULTSYNC_MIN_REFRESH_SECONDS" $sync.minRefreshSeconds
  "VAULTSYNC_RETENTION_DAYS" $sync.retentionDays
  "VAULTSYNC_EXPIRY_WARNING_DAYS" $sync.expiryWarningDays
  "VAULTSYNC_LEASE_DURATION_SECONDS" $ha.leaseDurationSeconds
  "VAULTSYNC_RENEW_DEADLINE_SECONDS" $ha.renewDeadlineSeconds
  "VAULTSYNC_RETRY_PERIOD_SECONDS" $ha.retryPeriodSeconds
-}}
{{- range $name, $value := $env }}
{{- if not (kindIs "invalid" $value) }}
- name: {{ $name }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- end }}
{{- end }}
