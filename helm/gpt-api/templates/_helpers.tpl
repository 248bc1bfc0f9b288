{{/* The chart name, at most 63 characters. */}}
{{- define "gpt-api.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The resource name prefix: <release>-gpt-api unless the release name already contains the chart name. */}}
{{- define "gpt-api.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "gpt-api.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
app.kubernetes.io/name: {{ include "gpt-api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{/* Selects the gateway pods (component gateway); other workloads of the release have their own component. */}}
{{- define "gpt-api.selectorLabels" -}}
app.kubernetes.io/name: {{ include "gpt-api.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: gateway
{{- end -}}

{{- define "gpt-api.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "gpt-api.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "gpt-api.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "gpt-api.secretName" -}}
{{- default (include "gpt-api.fullname" .) .Values.secrets.existingSecret -}}
{{- end -}}

{{/*
An environment value as the gateway reads it. YAML numbers reach templates as float64, and printing 259200000 as
a float gives 2.592e+08: whole numbers are printed as integers.
*/}}
{{- define "gpt-api.envValue" -}}
{{- if kindIs "float64" . -}}
{{- if eq (float64 (int64 .)) . -}}{{ int64 . }}{{- else -}}{{ . }}{{- end -}}
{{- else -}}
{{- . -}}
{{- end -}}
{{- end -}}

{{/* Migrations run in the hook Job unless the evaluation PostgreSQL is on (it does not exist at pre-install). */}}
{{- define "gpt-api.migrationJob" -}}
{{- if and .Values.migrations.job (not .Values.postgresql.evaluation.enabled) -}}true{{- end -}}
{{- end -}}

{{/* BACKEND_DNS: each in-cluster llama.cpp model and its headless Service's name. */}}
{{- define "gpt-api.backendDns" -}}
{{- $root := . -}}
{{- $entries := list -}}
{{- range .Values.llama.models -}}
{{- $entries = append $entries (printf "%s=%s-llama-%s.%s.svc.%s:%d" .name (include "gpt-api.fullname" $root) .name $root.Release.Namespace $root.Values.clusterDomain (int $root.Values.llama.port)) -}}
{{- end -}}
{{- join "," $entries -}}
{{- end -}}

{{/* BACKENDS: config.BACKENDS plus remoteBackends. */}}
{{- define "gpt-api.backends" -}}
{{- $entries := list -}}
{{- with .Values.config.BACKENDS -}}{{- $entries = append $entries . -}}{{- end -}}
{{- range .Values.remoteBackends -}}
{{- $entries = append $entries (printf "%s=%s" .model .url) -}}
{{- end -}}
{{- join "," $entries -}}
{{- end -}}

{{/*
The non-secret settings as a map: config (empty values left out so the gateway's defaults apply) with BACKENDS and
BACKEND_DNS composed from remoteBackends and llama.models. The ConfigMap and the migration Job both use it.
*/}}
{{- define "gpt-api.configData" -}}
{{- $data := dict -}}
{{- range $key, $value := .Values.config -}}
{{- if not (or (eq (toString $value) "") (eq (toString $value) "<nil>")) -}}
{{- $_ := set $data $key (include "gpt-api.envValue" $value) -}}
{{- end -}}
{{- end -}}
{{- $backends := include "gpt-api.backends" . -}}
{{- if $backends -}}{{- $_ := set $data "BACKENDS" $backends -}}{{- end -}}
{{- $dns := include "gpt-api.backendDns" . -}}
{{- if $dns -}}{{- $_ := set $data "BACKEND_DNS" $dns -}}{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/*
The secret settings as a map, for a Secret the chart creates: the values given, the evaluation servers' URLs, and
a clear failure for each required one that is missing.
*/}}
{{- define "gpt-api.secretData" -}}
{{- $s := .Values.secrets.values -}}
{{- $data := dict -}}
{{- range $key, $value := $s -}}
{{- if $value -}}{{- $_ := set $data $key $value -}}{{- end -}}
{{- end -}}
{{- $full := include "gpt-api.fullname" . -}}
{{- if and (not $s.DATABASE_URL) .Values.postgresql.evaluation.enabled -}}
{{- $pg := .Values.postgresql.evaluation -}}
{{- $_ := set $data "DATABASE_URL" (printf "postgresql://%s:%s@%s-postgresql:5432/%s" $pg.user $pg.password $full $pg.database) -}}
{{- end -}}
{{- if and (not $s.REDIS_URL) .Values.redis.evaluation.enabled -}}
{{- $_ := set $data "REDIS_URL" (printf "redis://%s-redis:6379" $full) -}}
{{- end -}}
{{- range $key := list "DATABASE_URL" "REDIS_URL" "KEY_PEPPER" "JWT_SECRET" "SECRETS_KEY" -}}
{{- if not (hasKey $data $key) -}}
{{- fail (printf "secrets.values.%s is required (or name a Secret holding it in secrets.existingSecret%s)" $key (ternary "" ", or turn on the evaluation server" (has $key (list "KEY_PEPPER" "JWT_SECRET" "SECRETS_KEY")))) -}}
{{- end -}}
{{- end -}}
{{- toYaml $data -}}
{{- end -}}

{{/* The gateway's environment besides the ConfigMap and Secret. */}}
{{- define "gpt-api.fixedEnv" -}}
- name: MIGRATE_ON_START
  value: {{ ternary "false" "true" (eq (include "gpt-api.migrationJob" .) "true") | quote }}
- name: JAVA_TOOL_OPTIONS
  value: {{ .Values.jvm.options | quote }}
{{- end -}}
