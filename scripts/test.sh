#!/usr/bin/env bash
# Builds and runs every test: unit, integration (real etcdd processes on
# loopback) and compatibility (real etcdctl and Python etcd3).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/build.sh
cd build
ctest --output-on-failure -j "${JOBS:-2}" --timeout 900
