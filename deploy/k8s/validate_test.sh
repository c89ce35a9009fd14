#!/bin/sh
# Bazel entry point: the checks are in validate_test.py.
exec python3 "$(dirname "$0")/validate_test.py" "$@"
