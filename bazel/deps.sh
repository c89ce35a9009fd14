#!/usr/bin/env bash
# Installs every Debian package Wangge needs to build, test and run locally.
# Idempotent and fast when everything is present; works as root or through
# sudo; refuses clearly on a system that is not Debian or Ubuntu.
# Nothing is downloaded at build time: Bazel's repositories are local
# (bazel/local_repos) or generated from pkg-config (bazel/system_libs.bzl).
set -euo pipefail

PACKAGES=(
  # Toolchain and build
  g++ bazel-bootstrap pkg-config clang-format
  # Protocol Buffers and gRPC
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev libgrpc-dev
  # Storage and the event log
  librocksdb-dev librdkafka-dev kcat
  # Libraries
  libabsl-dev libssl-dev openssl libjwt-dev prometheus-cpp-dev nlohmann-json3-dev
  libgeos-dev libs2-dev
  # Tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # Scripts
  ca-certificates procps bc unzip
)

die() { echo "deps.sh: $*" >&2; exit 1; }

if [[ ! -r /etc/os-release ]]; then
  die "cannot identify this system (/etc/os-release missing); Wangge builds on Debian 12."
fi
# shellcheck disable=SC1091
. /etc/os-release
case " ${ID:-} ${ID_LIKE:-} " in
  *" debian "*|*" ubuntu "*) ;;
  *) die "this is ${PRETTY_NAME:-an unknown system}; Wangge's scripts install Debian packages and need Debian 12 (or Ubuntu)." ;;
esac
if [[ "${ID:-}" == "debian" && "${VERSION_ID:-}" != "12" ]]; then
  echo "deps.sh: warning: tested on Debian 12, this is ${PRETTY_NAME:-Debian ${VERSION_ID:-?}}" >&2
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "deps.sh: all ${#PACKAGES[@]} packages present"
else
  SUDO=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "not root and no sudo: install as root: ${missing[*]}"
    SUDO=(sudo)
  fi
  echo "deps.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${SUDO[@]}" apt-get update -qq
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Bazel 4.2.3 must find the system compiler and protoc on a plain PATH.
for tool in bazel protoc grpc_cpp_plugin pkg-config kcat; do
  command -v "$tool" >/dev/null || die "$tool is still missing after install"
done
