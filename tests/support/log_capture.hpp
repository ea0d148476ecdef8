// log_capture.hpp: collects the lines a Configuration's log callback receives, thread-safely.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_LOG_CAPTURE_HPP
#define BLUEJEANS_AUTH_TESTS_LOG_CAPTURE_HPP

#include "bluejeans_auth.hpp"

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace test_support {

class LogCapture {
 public:
  using Line = std::pair<bluejeans::auth::LogLevel, std::string>;

  // A callback that appends to this capture; it stays valid after the capture is gone.
  bluejeans::auth::LogCallback callback() const {
    return [state = state_](bluejeans::auth::LogLevel level, std::string_view line) {
      const std::lock_guard<std::mutex> lock(state->mutex);
      state->lines.emplace_back(level, std::string(line));
    };
  }

  std::vector<Line> lines() const {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->lines;
  }

  std::vector<std::string> at(bluejeans::auth::LogLevel level) const {
    std::vector<std::string> found;
    for (const auto& [line_level, text] : lines()) {
      if (line_level == level) {
        found.push_back(text);
      }
    }
    return found;
  }

 private:
  struct State {
    std::mutex mutex;
    std::vector<Line> lines;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace test_support

#endif  // BLUEJEANS_AUTH_TESTS_LOG_CAPTURE_HPP
