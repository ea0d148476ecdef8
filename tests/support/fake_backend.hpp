// fake_backend.hpp: a recording backend that returns scripted replies, for unit tests of
// what the API sends and how it treats what comes back.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_FAKE_BACKEND_HPP
#define BLUEJEANS_AUTH_TESTS_FAKE_BACKEND_HPP

#include "bluejeans_auth.hpp"

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace bluejeans::auth::testing {

/// A reply with a status, a JSON content type and a body.
inline HttpResponse reply(int status, std::string body, std::string reason = "") {
  HttpResponse response;
  response.status = status;
  response.reason = std::move(reason);
  response.headers.emplace("Content-Type", "application/json");
  response.body = std::move(body);
  return response;
}

/// Records every request and answers with the scripted replies in order, then with `{}`.
/// Copies share their record, so a test can keep one while the API owns another.
class FakeBackend {
 public:
  FakeBackend() = default;
  explicit FakeBackend(const Configuration&) {}

  BackendResult send(const HttpRequest& request) {
    std::function<BackendResult(const HttpRequest&)> next;
    {
      const std::lock_guard<std::mutex> lock(state_->mutex);
      state_->requests.push_back(request);
      if (!state_->script.empty()) {
        next = std::move(state_->script.front());
        state_->script.pop_front();
      }
    }
    return next ? next(request) : BackendResult(reply(200, "{}"));
  }

  /// Queues a reply (an HttpResponse or a TransportFailure).
  FakeBackend& then(BackendResult result) {
    return then_call([result](const HttpRequest&) { return result; });
  }

  /// Queues a function that answers the next request; it may throw.
  FakeBackend& then_call(std::function<BackendResult(const HttpRequest&)> answer) {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    state_->script.push_back(std::move(answer));
    return *this;
  }

  std::vector<HttpRequest> requests() const {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->requests;
  }

 private:
  struct State {
    std::mutex mutex;
    std::vector<HttpRequest> requests;
    std::deque<std::function<BackendResult(const HttpRequest&)>> script;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

/// Collects log lines for assertions.
struct LogRecord {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::pair<LogLevel, std::string>>> lines =
      std::make_shared<std::vector<std::pair<LogLevel, std::string>>>();

  LogCallback callback() const {
    return [mutex = mutex, lines = lines](LogLevel level, std::string_view line) {
      const std::lock_guard<std::mutex> lock(*mutex);
      lines->emplace_back(level, std::string(line));
    };
  }

  std::vector<std::string> text() const {
    const std::lock_guard<std::mutex> lock(*mutex);
    std::vector<std::string> out;
    for (const auto& entry : *lines) {
      out.push_back(entry.second);
    }
    return out;
  }
};

}  // namespace bluejeans::auth::testing

#endif  // BLUEJEANS_AUTH_TESTS_FAKE_BACKEND_HPP
