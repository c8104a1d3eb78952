// kvctl: etcdctl-compatible key-value tool. See context.h and kvctl.cc.
#include <grpc/support/log.h>

#include <iostream>
#include <string>
#include <vector>

#include "context.h"

extern char** environ;

int main(int argc, char** argv) {
  // gRPC's own log lines ("Handshake failed with fatal error ...") are not
  // part of etcdctl's output: a failed TLS dial ends in "Error: context
  // deadline exceeded" alone there, and so it does here.
  gpr_set_log_function([](gpr_log_func_args*) {});
  std::vector<std::string> args(argv, argv + argc);
  etcdd::kvctl::Io io{std::cin, std::cout, std::cerr};
  return etcdd::kvctl::RunKvctl(std::move(args), etcdd::cli::EnvironmentFrom(environ), io);
}
