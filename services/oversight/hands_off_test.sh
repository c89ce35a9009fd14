#!/bin/bash
# Oversight never files, dispatches, checks or closes: its binary links no
# library that decides supervision's or dispatch's events, and no code of
# those services at all (it reads their topics as events only).
set -u
deps="$1"
[[ -s "${deps}" ]] || { echo "empty dependency list: ${deps}"; exit 1; }
bad=$(grep -E '^//services/(supervision|dispatch)/' "${deps}")
if [[ -n "${bad}" ]]; then
  echo "oversight links workflow code:"
  echo "${bad}"
  exit 1
fi
grep -qx "//services/oversight/domain:domain" "${deps}" ||
  { echo "the query missed oversight's own domain"; exit 1; }
echo "ok: oversight links no supervision or dispatch code"
