#!/usr/bin/env bash
# `make bench` runs this: the dataset (generated once), the load runs against the real service
# and the ceiling app, the profile, and the report in docs/performance.md. See bench/README.md.
#
#   make bench                          # BENCH_SCALE=small: 100,000 cases, 10 s runs
#   make bench BENCH_SCALE=full         # 1,000,000 cases (generated once into mediation_bench_full)
#
# Knobs (environment): BENCH_SCALE (tiny|small|full), BENCH_DURATION and BENCH_WARMUP (seconds
# a run), BENCH_ONLY (scenario names, comma-separated), BENCH_PROFILE (scenarios to profile,
# empty for none), BENCH_PROFILE_CEILING=1 (the ceiling app too), BENCH_REGENERATE=1,
# BENCH_SEED, BENCH_DATABASE, BENCH_PG_SERVER, BENCH_REDIS_URL, BENCH_TOOL (wrk|python),
# BENCH_REPORT (where the report goes), BENCH_LABEL.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null 2>&1; then
  echo "bench: installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
  fi
  command -v wrk >/dev/null 2>&1 || echo "bench: no wrk; the Python driver stands in (slower)" >&2
fi

# The profiler goes into the virtualenv only (not a project dependency).
if [ -n "${BENCH_PROFILE-case_by_id,intake}" ] && [ ! -x .venv/bin/py-spy ]; then
  .venv/bin/python -m pip install -q --disable-pip-version-check py-spy \
    || echo "bench: py-spy could not be installed: no profile" >&2
fi

exec .venv/bin/python -m bench.runner "$@"
