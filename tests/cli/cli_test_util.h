// Shared by the CLI tests: runs the built `hardwire` binary (HARDWIRE_BIN_DIR) with arguments
// and returns its exit code and output, so every command is tested as a user runs it.
#pragma once
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace hw::test {

struct RunResult {
  int exit_code_ = -1;
  std::string output_;
};

// Runs `hardwire <args>`; stderr is folded into the output when `merge_stderr` is set,
// discarded otherwise.
inline RunResult run_hardwire(const std::string& args, bool merge_stderr = false) {
  const std::string cmd = std::string("'") + HARDWIRE_BIN_DIR + "/hardwire' " + args +
                          (merge_stderr ? " 2>&1" : " 2>/dev/null");
  RunResult r;
  FILE* pipe = ::popen(cmd.c_str(), "r");
  if (!pipe) return r;
  std::array<char, 4096> buf{};
  size_t n = 0;
  while ((n = std::fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output_.append(buf.data(), n);
  const int status = ::pclose(pipe);
  r.exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace hw::test
