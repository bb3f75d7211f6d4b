{{- define "mediation.fullname" -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}

{{- define "mediation.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "mediation.selector" -}}
app.kubernetes.io/name: {{ .root.Chart.Name }}
app.kubernetes.io/instance: {{ .root.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "mediation.secretName" -}}
{{- default (printf "%s-secrets" (include "mediation.fullname" .)) .Values.existingSecret -}}
{{- end -}}

{{- define "mediation.env" -}}
envFrom:
  - configMapRef:
      name: {{ include "mediation.fullname" . }}-config
  - secretRef:
      name: {{ include "mediation.secretName" . }}
{{- end -}}

{{- define "mediation.volumes" -}}
volumes:
  - name: tmp
    emptyDir: {}
{{- end -}}

{{- define "mediation.mounts" -}}
volumeMounts:
  - name: tmp
    mountPath: /tmp
{{- end -}}
