// kvdefrag: rolling compaction and defragmentation. See kvdefrag.h.
#include <unistd.h>

#include <iostream>
#include <string>
#include <vector>

#include "kvdefrag.h"

extern char** environ;

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  etcdd::kvdefrag::Io io{std::cin, std::cout, std::cerr, isatty(STDERR_FILENO) == 1};
  return etcdd::kvdefrag::RunKvdefrag(std::move(args), etcdd::cli::EnvironmentFrom(environ), io);
}
