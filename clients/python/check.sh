#!/usr/bin/env bash
# The Python client generated from openapi.json (openapi-python-client, pinned in
# requirements.txt) without a warning, then byte-compiled and checked with `mypy --strict`.
# Generated into a scratch directory (not committed): `make py-client-check`.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/mediation-pyclient-XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 -m venv "$work/venv"
"$work/venv/bin/pip" install -q --disable-pip-version-check -r "$here/requirements.txt"
"$work/venv/bin/openapi-python-client" generate --path "$here/../../openapi.json" \
  --config "$here/openapi-python-client.yaml" --meta none \
  --output-path "$work/mediation_client" 2>&1 | tee "$work/generate.log"
if grep -qi "warning" "$work/generate.log"; then
  echo "openapi-python-client warned: see above" >&2
  exit 1
fi
"$work/venv/bin/python" -m compileall -q "$work/mediation_client" >/dev/null
cd "$work" && "$work/venv/bin/mypy" --strict mediation_client
