#pragma once

// Runs a test peer (a Python server, a mock cluster, kcat) as a child process whose standard
// output the test reads line by line, and which is always stopped when the test ends.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace ldh::testing {

class ChildProcess {
 public:
  /// Starts `argv` (argv[0] is a path) with its standard output piped to this process and its
  /// standard error inherited, so a failing peer explains itself in the test log.
  explicit ChildProcess(const std::vector<std::string>& argv) {
    int pipe_ends[2];
    if (::pipe2(pipe_ends, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(pipe_ends[1], STDOUT_FILENO);
      std::vector<char*> args;
      for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(pipe_ends[1]);
    out_ = pipe_ends[0];
  }

  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  ~ChildProcess() {
    stop();
    if (out_ >= 0) ::close(out_);
  }

  pid_t pid() const { return pid_; }

  /// Returns the next line of the child's output without its newline; nullopt at its end or
  /// when none came within `timeout`.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (true) {
      const std::size_t newline = buffered_.find('\n');
      if (newline != std::string::npos) {
        std::string line = buffered_.substr(0, newline);
        buffered_.erase(0, newline + 1);
        return line;
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd ready{out_, POLLIN, 0};
      if (::poll(&ready, 1, static_cast<int>(left.count())) <= 0) continue;
      char bytes[4096];
      const ssize_t count = ::read(out_, bytes, sizeof bytes);
      if (count <= 0) return std::nullopt;
      buffered_.append(bytes, static_cast<std::size_t>(count));
    }
  }

  /// Sends SIGTERM, waits up to five seconds, then SIGKILL; returns the wait status.
  int stop() {
    if (pid_ <= 0) return status_;
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 500; ++i) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        pid_ = -1;
        return status_;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status_, 0);
    pid_ = -1;
    return status_;
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int status_ = 0;
  std::string buffered_;
};

}  // namespace ldh::testing
