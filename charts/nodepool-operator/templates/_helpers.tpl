{{/* The chart name, or nameOverride. */}}
{{- define "nodepool-operator.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The full name of every object: fullnameOverride, else RELEASE-NAME (RELEASE alone when it already
contains the name). Cluster-scoped objects carry it too, so two releases never share one.
*/}}
{{- define "nodepool-operator.fullname" -}}
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

{{/* chart-version, for the helm.sh/chart label. */}}
{{- define "nodepool-operator.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "nodepool-operator.labels" -}}
helm.sh/chart: {{ include "nodepool-operator.chart" . }}
{{ include "nodepool-operator.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{/* The labels that select the operator's pods (never change them on upgrade). */}}
{{- define "nodepool-operator.selectorLabels" -}}
app.kubernetes.io/name: {{ include "nodepool-operator.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the operator runs as. */}}
{{- define "nodepool-operator.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "nodepool-operator.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name names the existing ServiceAccount when serviceAccount.create is false" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* The image, with the appVersion as the default tag. */}}
{{- define "nodepool-operator.image" -}}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}

{{/*
The one watched namespace, or "" for the whole cluster. The operator takes one --namespace
per process, so a list is refused rather than half honoured.
*/}}
{{- define "nodepool-operator.watchNamespace" -}}
{{- if hasKey .Values.watch "namespaces" }}
{{- fail "watch.namespaces is not supported: the operator watches one namespace (watch.namespace) or the whole cluster; install one release per namespace" }}
{{- end }}
{{- .Values.watch.namespace | default "" }}
{{- end }}

{{/*
What the operator does with NodePools, CloudAccounts, Secrets and Events: the rules of
deploy/rbac.yaml's ClusterRole and deploy/namespaced/rbac.yaml's Role (a test checks all three
agree, and the API server's audit log checks deploy/rbac.yaml against what the operator uses).
*/}}
{{- define "nodepool-operator.rules" -}}
# Watch NodePools and keep the cleanup finalizer on them (JSON patch).
- apiGroups: ["nodepool.io"]
  resources: ["nodepools"]
  verbs: ["list", "watch", "patch"]
# Write what the cloud reports (merge patch of the status subresource).
- apiGroups: ["nodepool.io"]
  resources: ["nodepools/status"]
  verbs: ["patch"]
# Read accounts; record whether their credentials work.
- apiGroups: ["nodepool.io"]
  resources: ["cloudaccounts"]
  verbs: ["get", "list", "watch"]
- apiGroups: ["nodepool.io"]
  resources: ["cloudaccounts/status"]
  verbs: ["patch"]
# Read the credentials the accounts name (never written): list/watch by metadata only, to
# notice a rotation; get reads the data of a Secret an account uses, once per version.
- apiGroups: [""]
  resources: ["secrets"]
  verbs: ["get", "list", "watch"]
# Publish events on state changes and errors (each once, so never patched).
- apiGroups: ["events.k8s.io"]
  resources: ["events"]
  verbs: ["create"]
{{- end }}
