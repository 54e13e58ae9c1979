#!/usr/bin/env bash
# The Python environment of the test suite (schemathesis, the Python SDK and its tests), built once in
# .stack/python from tools/python/requirements.txt and rebuilt when that file changes. Prints the
# environment's bin directory.
source "$(dirname "$0")/lib.sh"
VENV="$STACK_DIR/python"
stamp=$(cat "$ROOT_DIR/tools/python/requirements.txt" "$ROOT_DIR"/libs/sdk-python/pyproject.toml 2>/dev/null | sha256sum | cut -c1-16 || true)
if [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$stamp" ]; then
  log "building the Python environment in $VENV"
  rm -rf "$VENV"
  python3 -m venv "$VENV" >&2 || die "python3 -m venv failed"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$ROOT_DIR/tools/python/requirements.txt" >&2 || die "pip install of tools/python/requirements.txt failed"
  if [ -f "$ROOT_DIR/libs/sdk-python/pyproject.toml" ]; then
    "$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT_DIR/libs/sdk-python" >&2 || die "pip install of libs/sdk-python failed"
  fi
  echo "$stamp" > "$VENV/.stamp"
fi
echo "$VENV/bin"
