#!/bin/sh
# Regenerates the real-etcd seeds of tests/fuzz/corpus/bbolt/: starts
# /usr/bin/etcd 3.4 on free loopback ports in a temporary data dir, writes a
# few keys, and saves small snapshots (bbolt file + SHA-256) with etcdctl.
# Usage: tests/fuzz/make_bbolt_corpus.sh [out-dir]
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/tests/fuzz/corpus/bbolt}
tmp=$(mktemp -d)
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
client=http://127.0.0.1:$(free_port)
peer=http://127.0.0.1:$(free_port)
/usr/bin/etcd --name seed --data-dir "$tmp/data" --listen-client-urls "$client" \
  --advertise-client-urls "$client" --listen-peer-urls "$peer" \
  --initial-advertise-peer-urls "$peer" --initial-cluster "seed=$peer" >"$tmp/etcd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
ctl() { ETCDCTL_API=3 /usr/bin/etcdctl --endpoints="$client" "$@" >/dev/null 2>&1; }
for _ in $(seq 50); do
  kill -0 $pid || { cat "$tmp/etcd.log"; exit 1; }
  ctl endpoint health 2>/dev/null && break
  sleep 0.2
done
ctl snapshot save "$out/etcd-fresh.db"
for i in 1 2 3 4 5; do ctl put "k$i" "v$i"; done
ctl lease grant 300
ctl user add root:pw
ctl role add r
ctl snapshot save "$out/etcd-small.db"
ctl put big "$(head -c 6000 /dev/zero | tr '\0' x)"
ctl del k2
ctl compact 5
ctl snapshot save "$out/etcd-overflow.db"
