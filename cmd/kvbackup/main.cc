// kvbackup: backups of an etcd or etcdd cluster. See kvbackup.h.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "kvbackup.h"

extern char** environ;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  etcdd::kvbackup::Io io{std::cin, std::cout, std::cerr, isatty(STDERR_FILENO) == 1};
  return etcdd::kvbackup::RunKvbackup(std::move(args), etcdd::cli::EnvironmentFrom(environ), io);
}
