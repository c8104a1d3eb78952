"""gRPC calls for services the etcd3 package has no stubs for (v3lockpb.Lock,
v3electionpb.Election), built from the repository's own .proto files.

    stubs = ProtoStubs(["v3lockpb/v3lock.proto"])
    LockRequest = stubs.message("v3lockpb.LockRequest")
    lock = stubs.unary(channel, "/v3lockpb.Lock/Lock", "v3lockpb.LockResponse")
    resp = lock(LockRequest(name=b"n", lease=lease_id), timeout=5)

protoc (Debian's protobuf-compiler, which the build needs anyway) compiles the
files with their imports into a descriptor set; the messages live in a
private descriptor pool, so they never clash with the etcd3 package's copies
of the same etcd messages. The methods are called by path, with the
messages' own (de)serializers: the bytes on the wire are the .proto's.
"""

import os
import subprocess
import tempfile

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO_ROOT = os.path.join(REPO, "lib", "proto")


class ProtoStubs:
    def __init__(self, files):
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "set.pb")
            subprocess.run(["protoc", "-I", PROTO_ROOT, "--include_imports",
                            "--descriptor_set_out=" + out] + list(files), check=True)
            with open(out, "rb") as f:
                fds = descriptor_pb2.FileDescriptorSet.FromString(f.read())
        self._pool = descriptor_pool.DescriptorPool()
        for fd in fds.file:
            self._pool.Add(fd)
        self._factory = message_factory.MessageFactory(self._pool)

    def message(self, full_name):
        """The message class for `full_name` (e.g. "v3lockpb.LockRequest")."""
        return self._factory.GetPrototype(self._pool.FindMessageTypeByName(full_name))

    def unary(self, channel, path, response):
        return channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=self.message(response).FromString)

    def server_stream(self, channel, path, response):
        return channel.unary_stream(path, request_serializer=lambda m: m.SerializeToString(),
                                    response_deserializer=self.message(response).FromString)
