# Sourced by scripts/run and scripts/test: make .venv (Python 3.11) and install letsnode
# into it, once per change of pyproject.toml, so a second run starts at once.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  for candidate in python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 \
       && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
      PY="$candidate"; break
    fi
  done
fi
if [ -z "$PY" ]; then
  echo "error: letsnode needs Python 3.11 (python3.11 not found on PATH)" >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
STAMP=".venv/.letsnode-installed-$(sha256sum pyproject.toml | cut -c1-16)"
if [ ! -f "$STAMP" ]; then
  echo "installing letsnode and its dependencies into .venv (once) ..." >&2
  if ! { .venv/bin/python -m pip install --disable-pip-version-check --upgrade pip \
         && .venv/bin/python -m pip install --disable-pip-version-check -e ".[dev]"; } \
       >.venv/install.log 2>&1; then
    cat .venv/install.log >&2
    echo "error: installing into .venv failed (log above, also in .venv/install.log)" >&2
    exit 1
  fi
  rm -f .venv/.letsnode-installed-*
  touch "$STAMP"
fi
export PATH="$ROOT/.venv/bin:$PATH"
