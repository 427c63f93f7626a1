{{/*
One component's Deployment. Called with a dict:
  root       the chart's context ($)
  component  api | redirector | analytics | operator
  values     that component's values (replicas, resources, extraEnv, extraVolumes, ...)
  ports      [{name, port}] the container listens on ("ops" is the probe port)
  migrate    run the migrate init container
  omitReplicas  leave spec.replicas to an HPA
  serviceAccount  name, or "" for none (no token mounted)
  env        extra env entries (YAML string) before the user's extraEnv
  args       the container args
  spread     render topologySpreadConstraints from values.topologySpread
  preStop    sleep shutdown.preStopSeconds before SIGTERM (components behind a Service)
*/}}
{{- define "shortlink.deployment" -}}
{{- $root := .root -}}
{{- $v := .values -}}
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "shortlink.componentName" (list $root .component) }}
  labels:
    {{- include "shortlink.labels" (list $root .component) | nindent 4 }}
spec:
  {{- if not .omitReplicas }}
  replicas: {{ $v.replicas }}
  {{- end }}
  revisionHistoryLimit: 5
  selector:
    matchLabels:
      {{- include "shortlink.selectorLabels" (list $root .component) | nindent 6 }}
  template:
    metadata:
      labels:
        {{- include "shortlink.labels" (list $root .component) | nindent 8 }}
      annotations:
        {{- include "shortlink.checksums" $root | nindent 8 }}
        {{- with $v.podAnnotations }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
    spec:
      {{- if .serviceAccount }}
      serviceAccountName: {{ .serviceAccount }}
      {{- else }}
      automountServiceAccountToken: false
      {{- end }}
      enableServiceLinks: false
      terminationGracePeriodSeconds: {{ $v.terminationGracePeriodSeconds | default $root.Values.shutdown.terminationGracePeriodSeconds }}
      securityContext:
        {{- toYaml $root.Values.podSecurityContext | nindent 8 }}
      {{- with $root.Values.imagePullSecrets }}
      imagePullSecrets:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- if and .migrate $root.Values.migrations.enabled }}
      initContainers:
        - name: migrate
          image: {{ include "shortlink.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: [migrate]
          envFrom:
            {{- include "shortlink.envFrom" $root | nindent 12 }}
          env:
            {{- include "shortlink.env" (list $root "migrate") | nindent 12 }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          resources:
            {{- toYaml $root.Values.migrations.resources | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- include "shortlink.secretsMount" (list $root "migrate") | nindent 12 }}
      {{- end }}
      containers:
        - name: {{ .component }}
          image: {{ include "shortlink.image" $root }}
          imagePullPolicy: {{ $root.Values.image.pullPolicy }}
          args: {{ toJson .args }}
          ports:
            {{- range .ports }}
            - {name: {{ .name }}, containerPort: {{ .port }}, protocol: TCP}
            {{- end }}
          envFrom:
            {{- include "shortlink.envFrom" $root | nindent 12 }}
          env:
            {{- include "shortlink.env" (list $root .component) | nindent 12 }}
            {{- with .env }}
            {{- . | nindent 12 }}
            {{- end }}
            {{- with $v.extraEnv }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- include "shortlink.probes" $root | nindent 10 }}
          {{- if .preStop }}
          lifecycle:
            preStop:
              sleep:
                seconds: {{ $root.Values.shutdown.preStopSeconds }}
          {{- end }}
          securityContext:
            {{- toYaml $root.Values.containerSecurityContext | nindent 12 }}
          resources:
            {{- toYaml $v.resources | nindent 12 }}
          volumeMounts:
            - {name: tmp, mountPath: /tmp}
            {{- include "shortlink.secretsMount" (list $root .component) | nindent 12 }}
            {{- with $v.extraVolumeMounts }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
      volumes:
        {{- /* /tmp is the only writable path the image needs. */}}
        - name: tmp
          emptyDir:
            sizeLimit: 64Mi
        {{- include "shortlink.secretsVolume" (list $root .component) | nindent 8 }}
        {{- with $v.extraVolumes }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
      {{- if and .spread $v.topologySpread.enabled }}
      topologySpreadConstraints:
        {{- range $v.topologySpread.topologyKeys }}
        - maxSkew: {{ $v.topologySpread.maxSkew }}
          topologyKey: {{ . }}
          whenUnsatisfiable: ScheduleAnyway
          labelSelector:
            matchLabels:
              {{- include "shortlink.selectorLabels" (list $root $.component) | nindent 14 }}
          matchLabelKeys: [pod-template-hash]
        {{- end }}
      {{- end }}
      {{- with $v.nodeSelector }}
      nodeSelector:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.tolerations }}
      tolerations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.affinity }}
      affinity:
        {{- toYaml . | nindent 8 }}
      {{- end }}
{{- end -}}

{{/* A Service over a component's public port (if it has one) and its ops port. (list $ component values) */}}
{{- define "shortlink.service" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $v := index . 2 -}}
apiVersion: v1
kind: Service
metadata:
  name: {{ include "shortlink.componentName" (list $root $component) }}
  labels:
    {{- include "shortlink.labels" (list $root $component) | nindent 4 }}
    {{- /* The Prometheus job of its ServiceMonitor (monitoring/rules/ match on it). */}}
    shortlink.io/scrape-job: shortlink-{{ $component }}
spec:
  type: {{ if $v.service }}{{ $v.service.type }}{{ else }}ClusterIP{{ end }}
  selector:
    {{- include "shortlink.selectorLabels" (list $root $component) | nindent 4 }}
  ports:
    {{- if $v.service }}
    - {name: http, port: {{ $v.service.port }}, targetPort: http, protocol: TCP}
    {{- end }}
    - {name: ops, port: {{ $v.opsPort | default $v.port }}, targetPort: ops, protocol: TCP}
{{- end -}}

{{/* An Ingress to a component's Service. (list $ component values) */}}
{{- define "shortlink.ingress" -}}
{{- $root := index . 0 -}}
{{- $component := index . 1 -}}
{{- $v := index . 2 -}}
{{- $service := include "shortlink.componentName" (list $root $component) -}}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ $service }}
  labels:
    {{- include "shortlink.labels" (list $root $component) | nindent 4 }}
  {{- with $v.ingress.annotations }}
  annotations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
spec:
  {{- with $v.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with $v.ingress.tls }}
  tls:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  rules:
    {{- range $v.ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range (.paths | default (list "/")) }}
          - path: {{ . }}
            pathType: Prefix
            backend:
              service:
                name: {{ $service }}
                port: {name: http}
          {{- end }}
    {{- end }}
{{- end -}}
