#include "host/cli.h"

int main(int argc, char** argv) {
  return ldh::run_cli(argc, argv);
}
