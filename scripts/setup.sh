#!/usr/bin/env bash
# Creates .venv and installs the pinned set; `--dev` adds the test tools. Safe to re-run.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
req=requirements.txt
[ "${1:-}" = "--dev" ] && req=requirements-dev.txt
[ -x .venv/bin/python ] || "$PY" -m venv .venv || exit 1
pipq() { .venv/bin/python -m pip "$@" 2>&1 | grep -v "^WARNING: Location"; return "${PIPESTATUS[0]}"; }
pipq install -q --upgrade "pip>=24" || exit 1
pipq install -q -r "$req" || { echo "setup: installing $req failed" >&2; exit 1; }
.venv/bin/python -m pip check || exit 1
.venv/bin/python -c "import talker" || exit 1
echo "setup: .venv ready ($req)"
