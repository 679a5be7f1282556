#include "host/cli.h"

#include <cstdio>

namespace ldh {

int run_cli(int, char**) {
  std::puts("ldh");
  return 0;
}

}  // namespace ldh
