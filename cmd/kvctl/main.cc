// kvctl: etcdctl-compatible key-value tool. See context.h and kvctl.cc.
#include <iostream>
#include <string>
#include <vector>

#include "context.h"

extern char** environ;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  etcdd::kvctl::Io io{std::cin, std::cout, std::cerr};
  return etcdd::kvctl::RunKvctl(std::move(args), etcdd::cli::EnvironmentFrom(environ), io);
}
