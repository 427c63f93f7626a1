{{/* Names: Kubernetes allows 63 characters (DNS labels); the component suffix is always kept. */}}
{{- define "shortlink.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "shortlink.fullname" -}}
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

{{/* "<fullname>-<component>", the fullname shortened so the whole stays within 63. */}}
{{- define "shortlink.componentName" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $room := sub 62 (len $component) | int -}}
{{- printf "%s-%s" (include "shortlink.fullname" $root | trunc $room | trimSuffix "-") $component -}}
{{- end -}}

{{- define "shortlink.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* The recommended labels. Call with (list $ "component"). */}}
{{- define "shortlink.labels" -}}
{{- $root := index . 0 -}}
helm.sh/chart: {{ include "shortlink.chart" $root }}
{{ include "shortlink.selectorLabels" . }}
app.kubernetes.io/version: {{ $root.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $root.Release.Service }}
app.kubernetes.io/part-of: shortlink
{{- with $root.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "shortlink.selectorLabels" -}}
{{- $root := index . 0 -}}
app.kubernetes.io/name: {{ include "shortlink.name" $root }}
app.kubernetes.io/instance: {{ $root.Release.Name }}
app.kubernetes.io/component: {{ index . 1 }}
{{- end -}}

{{/* registry/repository@digest, or :tag (default appVersion); global.imageRegistry wins. */}}
{{- define "shortlink.imageRef" -}}
{{- $root := index . 0 -}}
{{- $image := index . 1 -}}
{{- $registry := $root.Values.global.imageRegistry | default $image.registry -}}
{{- $repository := $image.repository -}}
{{- if $registry }}{{ $repository = printf "%s/%s" $registry $image.repository }}{{ end -}}
{{- if $image.digest -}}
{{- printf "%s@%s" $repository $image.digest -}}
{{- else -}}
{{- printf "%s:%s" $repository (toString ($image.tag | default $root.Chart.AppVersion)) -}}
{{- end -}}
{{- end -}}

{{- define "shortlink.image" -}}
{{- include "shortlink.imageRef" (list . .Values.image) -}}
{{- end -}}

{{/* Secret names and keys: an existingSecret, else the chart's own Secret. */}}
{{- define "shortlink.secretRef" -}}
{{- $root := index . 0 -}}
{{- $value := index . 1 -}}
{{- $key := index . 2 -}}
name: {{ $value.existingSecret | default (include "shortlink.fullname" $root) }}
key: {{ if $value.existingSecret }}{{ $value.existingSecretKey }}{{ else }}{{ $key }}{{ end }}
{{- end -}}

{{- define "shortlink.postgresqlName" -}}
{{- include "shortlink.componentName" (list . "postgresql") -}}
{{- end -}}

{{/* The in-chart cluster: every member, the client picks the writable one. */}}
{{- define "shortlink.postgresqlHosts" -}}
{{- $name := include "shortlink.postgresqlName" . -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.postgresql.instances) -}}
{{- $hosts = append $hosts (printf "%s-%d.%s-members.%s.svc:5432" $name $i $name $.Release.Namespace) -}}
{{- end -}}
{{- join "," $hosts -}}
{{- end -}}

{{/* Which secrets each container uses (SECURITY.md): it gets those and no others. */}}
{{- define "shortlink.secretsOf" -}}
{{- $uses := dict
  "api" (list "secretKey" "initialApiKey" "analyticsSalt" "database" "redis" "clickhouse" "oidcClientSecret")
  "redirector" (list "secretKey" "database" "databaseRead" "redis")
  "analytics" (list "analyticsSalt" "redis" "clickhouse")
  "operator" (list "database" "redis")
  "migrate" (list "database") -}}
{{- toJson (get $uses .) -}}
{{- end -}}

{{/* The secrets one container gets, called with (list $ component), as [{var, name, key}]:
the variable, and the Secret and key holding its value. */}}
{{- define "shortlink.secrets" -}}
{{- $root := index . 0 -}}
{{- $uses := include "shortlink.secretsOf" (index . 1) | fromJsonArray -}}
{{- $entries := list -}}
{{- with $root -}}
{{- if has "secretKey" $uses -}}
{{- $entries = append $entries (merge (dict "var" "SHORTLINK_SECRET_KEY") (include "shortlink.secretRef" (list . .Values.secretKey "SHORTLINK_SECRET_KEY") | fromYaml)) -}}
{{- end -}}
{{- if has "analyticsSalt" $uses -}}
{{- $entries = append $entries (merge (dict "var" "SHORTLINK_ANALYTICS_SALT") (include "shortlink.secretRef" (list . .Values.analyticsSalt "SHORTLINK_ANALYTICS_SALT") | fromYaml)) -}}
{{- end -}}
{{- if and (has "initialApiKey" $uses) (or .Values.initialApiKey.value .Values.initialApiKey.existingSecret) -}}
{{- $entries = append $entries (merge (dict "var" "SHORTLINK_INITIAL_API_KEY") (include "shortlink.secretRef" (list . .Values.initialApiKey "SHORTLINK_INITIAL_API_KEY") | fromYaml)) -}}
{{- end -}}
{{- if not (has "database" $uses) -}}
{{- else if .Values.postgresql.enabled -}}
{{- $entries = append $entries (dict "var" "SHORTLINK_DATABASE_PASSWORD" "name" (.Values.postgresql.existingSecret | default (include "shortlink.postgresqlName" .)) "key" "password") -}}
{{- else -}}
{{- $entries = append $entries (merge (dict "var" "DATABASE_URL") (include "shortlink.secretRef" (list . .Values.database "DATABASE_URL") | fromYaml)) -}}
{{- end -}}
{{- if and (has "databaseRead" $uses) (or .Values.databaseRead.url .Values.databaseRead.existingSecret) -}}
{{- $entries = append $entries (merge (dict "var" "DATABASE_READ_URL") (include "shortlink.secretRef" (list . .Values.databaseRead "DATABASE_READ_URL") | fromYaml)) -}}
{{- end -}}
{{- if has "redis" $uses -}}
{{- $entries = append $entries (merge (dict "var" "REDIS_URL") (include "shortlink.secretRef" (list . .Values.redis "REDIS_URL") | fromYaml)) -}}
{{- end -}}
{{- if and (has "clickhouse" $uses) (or .Values.clickhouse.url .Values.clickhouse.existingSecret) -}}
{{- $entries = append $entries (merge (dict "var" "CLICKHOUSE_URL") (include "shortlink.secretRef" (list . .Values.clickhouse "CLICKHOUSE_URL") | fromYaml)) -}}
{{- end -}}
{{- $oidcSecret := .Values.auth.oidc.clientSecret -}}
{{- if and (has "oidcClientSecret" $uses) (or $oidcSecret.value $oidcSecret.existingSecret) -}}
{{- $entries = append $entries (merge (dict "var" "SHORTLINK_OIDC_CLIENT_SECRET") (include "shortlink.secretRef" (list . $oidcSecret "SHORTLINK_OIDC_CLIENT_SECRET") | fromYaml)) -}}
{{- end -}}
{{- end -}}
{{- toYaml $entries -}}
{{- end -}}

{{- define "shortlink.secretsDir" -}}/run/secrets/shortlink{{- end -}}

{{/* One container's environment, called with (list $ component): the ConfigMap (envFrom),
then its secrets, as files (NAME_FILE, read by Settings; secretsAsFiles) or as variables. */}}
{{- define "shortlink.env" -}}
{{- $root := index . 0 -}}
{{- $secrets := include "shortlink.secrets" . | fromYamlArray -}}
{{- with $root -}}
{{- $dir := include "shortlink.secretsDir" . -}}
{{- range $secrets }}
{{- if $root.Values.secretsAsFiles }}
- name: {{ .var }}_FILE
  value: {{ printf "%s/%s" $dir .var | quote }}
{{- else }}
- name: {{ .var }}
  valueFrom:
    secretKeyRef:
      name: {{ .name }}
      key: {{ .key }}
{{- end }}
{{- end }}
{{- if and .Values.postgresql.enabled (has "database" (include "shortlink.secretsOf" (index $ 1) | fromJsonArray)) }}
{{- $password := ternary "" ":$(SHORTLINK_DATABASE_PASSWORD)" .Values.secretsAsFiles }}
- name: DATABASE_URL
  value: {{ printf "postgresql://%s%s@%s/%s?target_session_attrs=read-write" .Values.postgresql.username $password (include "shortlink.postgresqlHosts" .) .Values.postgresql.database | quote }}
{{- end }}
{{- with .Values.config.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}
{{- end -}}

{{- define "shortlink.envFrom" -}}
- configMapRef:
    name: {{ include "shortlink.fullname" . }}
{{- end -}}

{{/* checksum/config: a changed setting or secret rolls every pod. */}}
{{- define "shortlink.checksums" -}}
checksum/config: {{ include (print .Template.BasePath "/configmap.yaml") . | sha256sum }}
checksum/secret: {{ include "shortlink.secretData" . | sha256sum }}
{{- end -}}

{{/* ops-port probes: startup tolerates a slow first connection, liveness restarts a hung process. */}}
{{- define "shortlink.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: ops}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: ops}
  periodSeconds: 10
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: ops}
  periodSeconds: 5
  timeoutSeconds: 3
  failureThreshold: 2
{{- end -}}

{{/* The chart's Secret data (inline values; generated ones kept across upgrades via lookup). */}}
{{- define "shortlink.secretData" -}}
{{- $existing := (lookup "v1" "Secret" .Release.Namespace (include "shortlink.fullname" .)) | default dict -}}
{{- $data := $existing.data | default dict -}}
{{- if not .Values.analyticsSalt.existingSecret }}
SHORTLINK_ANALYTICS_SALT: {{ .Values.analyticsSalt.value | default (index $data "SHORTLINK_ANALYTICS_SALT" | default "" | b64dec) | default (randAlphaNum 48) | b64enc | quote }}
{{- end }}
{{- if not .Values.secretKey.existingSecret }}
SHORTLINK_SECRET_KEY: {{ .Values.secretKey.value | default (index $data "SHORTLINK_SECRET_KEY" | default "" | b64dec) | default (randAlphaNum 48) | b64enc | quote }}
{{- end }}
{{- if and .Values.initialApiKey.value (not .Values.initialApiKey.existingSecret) }}
SHORTLINK_INITIAL_API_KEY: {{ .Values.initialApiKey.value | b64enc | quote }}
{{- end }}
{{- if not (or .Values.postgresql.enabled .Values.database.existingSecret) }}
DATABASE_URL: {{ .Values.database.url | b64enc | quote }}
{{- end }}
{{- if and .Values.databaseRead.url (not .Values.databaseRead.existingSecret) }}
DATABASE_READ_URL: {{ .Values.databaseRead.url | b64enc | quote }}
{{- end }}
{{- if not .Values.redis.existingSecret }}
REDIS_URL: {{ .Values.redis.url | b64enc | quote }}
{{- end }}
{{- if and .Values.clickhouse.url (not .Values.clickhouse.existingSecret) }}
CLICKHOUSE_URL: {{ .Values.clickhouse.url | b64enc | quote }}
{{- end }}
{{- if and .Values.auth.oidc.clientSecret.value (not .Values.auth.oidc.clientSecret.existingSecret) }}
SHORTLINK_OIDC_CLIENT_SECRET: {{ .Values.auth.oidc.clientSecret.value | b64enc | quote }}
{{- end }}
{{- end -}}

{{/* What the operator does in a watched namespace (operator/README.md "RBAC"): exactly the
calls tests/e2e/test_chart_deployment.py sees in the API server's audit log, but for Secrets,
Services and EndpointSlices (shortlink.operatorSecretRules, shortlink.operatorFailoverRules),
which are granted per namespace only, never cluster-wide. kopf lists and watches, and writes
finalizers and status with patches only. */}}
{{- define "shortlink.operatorRules" -}}
- apiGroups: [shortlink.io]
  resources: [shortlinks]
  verbs: [list, watch, patch]
- apiGroups: [shortlink.io]
  resources: [shortlinks/status]
  verbs: [patch]
- apiGroups: [""]
  resources: [events]
  verbs: [create]
# A ShortLink's namespace, for its UID (reclaimed codes are bound to it) and its
# shortlink.io/workspace label (docs/workspaces.md). In a Role this
# grants get on that one namespace object only: the API server authorizes GET
# /api/v1/namespaces/<name> as a request in namespace <name>.
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
{{- if include "shortlink.postgresFailover" . }}
# PostgreSQL failover: the HA loop reads each PostgresCluster and writes its status (one in
# a namespace it may not act in gets a status saying so).
- apiGroups: [shortlink.io]
  resources: [postgresclusters]
  verbs: [get, list, watch, patch]
- apiGroups: [shortlink.io]
  resources: [postgresclusters/status]
  verbs: [patch]
{{- end }}
{{- end -}}

{{/* Only Secrets named by a ShortLink's passwordSecretRef (and labelled to opt in) are read. */}}
{{- define "shortlink.operatorSecretRules" -}}
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
{{- end -}}

{{/* Failover in a PostgresCluster's namespace: its credentials Secret, and the read-write and
read-only Services and their EndpointSlices (only those the operator made are ever changed). */}}
{{- define "shortlink.operatorFailoverRules" -}}
- apiGroups: [""]
  resources: [secrets]
  verbs: [get]
- apiGroups: [""]
  resources: [services]
  verbs: [get, create]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [get, create, update]
{{- end -}}

{{/* Where ShortLinks' password Secrets may be read (a Role in each): operator.passwordSecretNamespaces,
else the watched namespaces, else the release namespace. As a JSON list. */}}
{{- define "shortlink.passwordSecretNamespaces" -}}
{{- $o := .Values.operator -}}
{{- $o.passwordSecretNamespaces | default $o.watchNamespaces | default (list .Release.Namespace) | toJson -}}
{{- end -}}

{{/* Where PostgresClusters are acted on (SHORTLINK_OPERATOR_POSTGRES_NAMESPACES, a Role in each):
operator.postgresNamespaces, else the watched namespaces, else the release namespace. */}}
{{- define "shortlink.postgresNamespaces" -}}
{{- $o := .Values.operator -}}
{{- $o.postgresNamespaces | default $o.watchNamespaces | default (list .Release.Namespace) | toJson -}}
{{- end -}}

{{/* A Role and its binding for the operator in one namespace, called with
(list $ namespace suffix rules). */}}{{- define "shortlink.operatorRole" -}}
{{- $root := index . 0 -}}
{{- $suffix := index . 2 -}}
{{- $base := include "shortlink.componentName" (list $root "operator") | trunc (int (sub 62 (len $suffix))) | trimSuffix "-" -}}
{{- $name := printf "%s-%s" $base $suffix -}}
---
# {{ index . 2 }} in {{ index . 1 }} only: a Role, never a ClusterRole (operator/README.md "RBAC").
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: {{ $name }}
  namespace: {{ index . 1 }}
  labels:
    {{- include "shortlink.labels" (list $root "operator") | nindent 4 }}
rules:
  {{- index . 3 | nindent 2 }}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: {{ $name }}
  namespace: {{ index . 1 }}
  labels:
    {{- include "shortlink.labels" (list $root "operator") | nindent 4 }}
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: {{ $name }}
subjects:
  - kind: ServiceAccount
    name: {{ include "shortlink.componentName" (list $root "operator") }}
    namespace: {{ $root.Release.Namespace }}
{{- end -}}

{{/* The failover loop runs when asked to, and always for the in-chart PostgreSQL. */}}
{{- define "shortlink.postgresFailover" -}}
{{- if or .Values.operator.postgresFailover .Values.postgresql.enabled }}true{{ end -}}
{{- end -}}


{{/* The secrets volume (secretsAsFiles), called with (list $ component): each secret of the
pod's component as a file named after its variable. */}}
{{- define "shortlink.secretsVolume" -}}
{{- if (index . 0).Values.secretsAsFiles }}
- name: secrets
  projected:
    defaultMode: 0440
    sources:
      {{- range include "shortlink.secrets" . | fromYamlArray }}
      - secret:
          name: {{ .name }}
          items:
            - {key: {{ .key }}, path: {{ .var }}}
      {{- end }}
{{- end }}
{{- end -}}

{{/* A container's secret files, called with (list $ container): the pod's main container
mounts the volume (its own secrets); the migrate init container only its own files, one by one. */}}
{{- define "shortlink.secretsMount" -}}
{{- $dir := include "shortlink.secretsDir" (index . 0) -}}
{{- if and (index . 0).Values.secretsAsFiles (eq (index . 1) "migrate") }}
{{- range include "shortlink.secrets" . | fromYamlArray }}
- {name: secrets, mountPath: {{ printf "%s/%s" $dir .var }}, subPath: {{ .var }}, readOnly: true}
{{- end }}
{{- else if (index . 0).Values.secretsAsFiles }}
- {name: secrets, mountPath: {{ $dir }}, readOnly: true}
{{- end }}
{{- end -}}
