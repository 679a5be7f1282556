#pragma once

namespace ldh {

/// Runs the `ldh` command line; returns the process exit code.
int run_cli(int argc, char** argv);

}  // namespace ldh
