#!/usr/bin/env bash
# Installs the Debian 12 packages that building, running and testing etcdd
# need. Idempotent: does nothing when everything is already installed.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  liblmdb-dev libcli11-dev libboost-dev libboost-filesystem-dev nlohmann-json3-dev
  libspdlog-dev libfmt-dev libssl-dev libjwt-dev libyaml-cpp-dev libarchive-dev libzstd-dev
  libcrypt-dev openssl libmuparser-dev libjemalloc-dev
  clang libclang-rt-14-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  etcd-client etcd-server python3 python3-etcd3 python3-grpcio python3-pytest openssl
  mandoc groff-base man-db bash bash-completion zsh fish
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
