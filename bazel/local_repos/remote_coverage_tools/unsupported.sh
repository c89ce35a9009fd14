#!/bin/sh
echo "coverage tools are not available offline (bazel/local_repos/remote_coverage_tools)" >&2
exit 1
