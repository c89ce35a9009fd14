#!/bin/bash
# Fails unless every domain library named after the query output is in it.
set -u
deps="$1"
shift
[[ -s "${deps}" ]] || { echo "empty dependency list: ${deps}"; exit 1; }
missing=0
for lib in "$@"; do
  if grep -qx "${lib}" "${deps}"; then
    echo "ok: audit links ${lib}"
  else
    echo "MISSING: audit does not link ${lib}"
    missing=1
  fi
done
exit "${missing}"
