// token_fakes.hpp: fakes shared by the retry and token source suites: a scripted backend,
// a log sink, and a token issuer whose replies a test can hold back.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_TOKEN_FAKES_HPP
#define BLUEJEANS_AUTH_TESTS_TOKEN_FAKES_HPP

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "bluejeans_auth.hpp"

namespace token_fakes {

namespace bj = bluejeans::auth;

// A safety net against a broken test hanging the suite; no assertion depends on it.
constexpr auto patience = std::chrono::seconds(20);

inline bj::HttpResponse reply(int status, std::string body, bj::Headers headers = {}) {
  bj::HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  response.headers = std::move(headers);
  return response;
}

inline bj::HttpResponse token_reply(const std::string& token, int expires_in) {
  return reply(200, "{\"access_token\":\"" + token + "\",\"expires_in\":" +
                        std::to_string(expires_in) + "}");
}

inline bj::HttpResponse busy_reply(int status, bj::Headers headers = {}) {
  return reply(status, R"({"message":"busy"})", std::move(headers));
}

// A backend that answers from a script; copies share the script, so a test keeps a copy.
class ScriptedBackend {
 public:
  struct Script {
    std::mutex mutex;
    std::deque<bj::BackendResult> replies;  // one per request, in order
    bj::BackendResult fallback = token_reply("fallback-token-abcdefgh", 3600);
    std::vector<bj::HttpRequest> requests;
    std::function<void()> on_send;  // runs on each request, before the reply is chosen
  };

  ScriptedBackend() : script_(std::make_shared<Script>()) {}

  bj::BackendResult send(const bj::HttpRequest& request) {
    std::function<void()> hook;
    {
      const std::lock_guard<std::mutex> guard(script_->mutex);
      script_->requests.push_back(request);
      hook = script_->on_send;
    }
    if (hook) {
      hook();
    }
    const std::lock_guard<std::mutex> guard(script_->mutex);
    if (script_->replies.empty()) {
      return script_->fallback;
    }
    auto next = std::move(script_->replies.front());
    script_->replies.pop_front();
    return next;
  }

  void then(bj::BackendResult result) {
    const std::lock_guard<std::mutex> guard(script_->mutex);
    script_->replies.push_back(std::move(result));
  }

  std::size_t request_count() const {
    const std::lock_guard<std::mutex> guard(script_->mutex);
    return script_->requests.size();
  }

  std::shared_ptr<Script> script() const { return script_; }

 private:
  std::shared_ptr<Script> script_;
};

// Collects log lines from any thread; a test can wait for a line to have appeared n times.
class LogSink {
 public:
  bj::LogCallback callback() {
    return [this](bj::LogLevel, std::string_view line) {
      const std::lock_guard<std::mutex> guard(mutex_);
      lines_.emplace_back(line);
      grew_.notify_all();
    };
  }

  std::vector<std::string> lines() const {
    const std::lock_guard<std::mutex> guard(mutex_);
    return lines_;
  }

  std::size_t count(const std::string& part) const {
    const std::lock_guard<std::mutex> guard(mutex_);
    return count_locked(part);
  }

  bool wait_for(const std::string& part, std::size_t times) {
    std::unique_lock<std::mutex> lock(mutex_);
    return grew_.wait_for(lock, patience, [&] { return count_locked(part) >= times; });
  }

  bool any_contains(const std::string& part) const { return count(part) > 0; }

 private:
  std::size_t count_locked(const std::string& part) const {
    std::size_t n = 0;
    for (const auto& line : lines_) {
      n += line.find(part) != std::string::npos ? 1 : 0;
    }
    return n;
  }

  mutable std::mutex mutex_;
  std::condition_variable grew_;
  std::vector<std::string> lines_;
};

// A stand-in for a token endpoint, called through make_token_source(callable). It issues
// "token-0001-abcdefghijkl", "token-0002-...", and so on, follows a plan of failures, and
// can hold every reply back until the test opens the gate.
class FakeIssuer {
 public:
  explicit FakeIssuer(std::int64_t lifetime = 3600) : lifetime_(lifetime) {}

  bj::TokenGrant operator()() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++calls_;
    if (!released_.wait_for(lock, patience, [&] { return !gated_; })) {
      throw std::runtime_error("the test never opened the gate");
    }
    if (before_reply_) {
      before_reply_();
    }
    if (!failures_.empty()) {
      auto failure = std::move(failures_.front());
      failures_.pop_front();
      std::rethrow_exception(failure);
    }
    ++issued_;
    return bj::TokenGrant{token(issued_), lifetime_};
  }

  static std::string token(int n) {
    char text[32];
    std::snprintf(text, sizeof text, "token-%04d-abcdefghijkl", n);
    return text;
  }

  void fail_next(std::exception_ptr error) {
    const std::lock_guard<std::mutex> guard(mutex_);
    failures_.push_back(std::move(error));
  }

  void close_gate() {
    const std::lock_guard<std::mutex> guard(mutex_);
    gated_ = true;
  }

  void open_gate() {
    const std::lock_guard<std::mutex> guard(mutex_);
    gated_ = false;
    released_.notify_all();
  }

  void before_reply(std::function<void()> hook) {
    const std::lock_guard<std::mutex> guard(mutex_);
    before_reply_ = std::move(hook);
  }

  int calls() const {
    const std::lock_guard<std::mutex> guard(mutex_);
    return calls_;
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable released_;
  std::int64_t lifetime_;
  int calls_ = 0;
  int issued_ = 0;
  bool gated_ = false;
  std::deque<std::exception_ptr> failures_;
  std::function<void()> before_reply_;
};

// The exception the API would throw for `status` from an operation, as an exception_ptr.
inline std::exception_ptr http_failure(int status, const std::string& message,
                                       bj::Headers headers = {}) {
  bj::ApiError error;
  error.kind = bj::ErrorKind::http_status;
  error.operation = "get_token_by_client";
  error.status = status;
  error.message = "get_token_by_client: server answered " + std::to_string(status) + ": " +
                  message;
  error.headers = std::move(headers);
  return std::make_exception_ptr(bj::HttpError(std::move(error)));
}

}  // namespace token_fakes

#endif  // BLUEJEANS_AUTH_TESTS_TOKEN_FAKES_HPP
