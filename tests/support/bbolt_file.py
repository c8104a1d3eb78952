"""A minimal reader of bbolt files (etcd's backend and `etcdctl snapshot save`
files), independent of lib/snap, for tests: walks the root bucket and each
top-level bucket's B+tree (inline buckets included) and yields key/value pairs
in key order. Layout: lib/snap/FORMAT.md, "etcd's snapshot file (bbolt)".
Trusts its input (test files only) and does no corruption checks.
"""

import struct

BRANCH, LEAF = 0x01, 0x02
BUCKET_LEAF_FLAG = 0x01
META_MAGIC = 0xED0CDAED


class BboltFile:
    def __init__(self, data: bytes):
        self.data = data
        self.page_size = struct.unpack_from("<I", data, 24)[0]
        metas = [self._meta(i) for i in (0, 1)]
        self.meta = max((m for m in metas if m), key=lambda m: m["txid"])

    def _meta(self, i):
        off = i * self.page_size if i else 0
        magic, _version, _psize = struct.unpack_from("<III", self.data, off + 16)
        if magic != META_MAGIC:
            return None
        root, _seq, _free, _pgid, txid = struct.unpack_from("<QQQQQ", self.data, off + 32)
        return {"root": root, "txid": txid}

    def _walk_page(self, buf, off):
        """Yields (flags, key, value) of the leaves under the page at buf[off]."""
        flags, count = struct.unpack_from("<HH", buf, off + 8)
        for i in range(count):
            e = off + 16 + 16 * i
            if flags & BRANCH:
                pos, ksize, child = struct.unpack_from("<IIQ", buf, e)
                yield from self._walk_page(self.data, child * self.page_size)
            else:
                eflags, pos, ksize, vsize = struct.unpack_from("<IIII", buf, e)
                k = buf[e + pos : e + pos + ksize]
                v = buf[e + pos + ksize : e + pos + ksize + vsize]
                yield eflags, bytes(k), bytes(v)

    def _bucket_items(self, header: bytes):
        root = struct.unpack_from("<Q", header, 0)[0]
        if root == 0:  # inline: the page follows the 16-byte header
            yield from self._walk_page(header, 16)
        else:
            yield from self._walk_page(self.data, root * self.page_size)

    def buckets(self):
        """{name: [(key, value), ...]} for every top-level bucket, in name order."""
        out = {}
        root = self.meta["root"]
        for flags, name, header in self._walk_page(self.data, root * self.page_size):
            assert flags & BUCKET_LEAF_FLAG, name
            out[name] = [(k, v) for _f, k, v in self._bucket_items(header)]
        return out


def read_snapshot(path):
    """The buckets of an `etcdctl snapshot save` file (bbolt + 32-byte SHA-256)
    or a plain bbolt file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) % 512 == 32:
        data = data[:-32]
    return BboltFile(data).buckets()
