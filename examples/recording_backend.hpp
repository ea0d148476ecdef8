// recording_backend.hpp: a backend of the user's own that records requests and replays
// canned replies, for testing code that calls the API without any network.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_EXAMPLES_RECORDING_BACKEND_HPP
#define BLUEJEANS_AUTH_EXAMPLES_RECORDING_BACKEND_HPP

#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "bluejeans_auth.hpp"

namespace example {

// A backend is any class with `BackendResult send(const HttpRequest&)` and, to be built by
// AuthenticationApi itself, a constructor from Configuration. This one answers from a
// script of replies and keeps every request. Copies share the script and the record, so a
// test can hand one copy to the API and read the other.
class RecordingBackend {
 public:
  RecordingBackend() : state_(std::make_shared<State>()) {}
  explicit RecordingBackend(const bluejeans::auth::Configuration&) : RecordingBackend() {}

  // Queues a reply: a status and a body, sent as application/json.
  RecordingBackend& reply(int status, std::string body) {
    bluejeans::auth::HttpResponse response;
    response.status = status;
    response.headers.emplace("Content-Type", "application/json");
    response.body = std::move(body);
    return queue(std::move(response));
  }

  // Queues a transport failure, as if the network had let the call down.
  RecordingBackend& fail(bluejeans::auth::TransportFailureKind kind, std::string message) {
    return queue(bluejeans::auth::TransportFailure{kind, std::move(message)});
  }

  bluejeans::auth::BackendResult send(const bluejeans::auth::HttpRequest& request) {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    state_->requests.push_back(request);
    if (state_->replies.empty()) {
      // The path without its query: the query holds the access token.
      const std::string path = request.target.substr(0, request.target.find('?'));
      return bluejeans::auth::TransportFailure{
          bluejeans::auth::TransportFailureKind::other,
          "no canned reply left for " + request.method + " " + path};
    }
    auto next = std::move(state_->replies.front());
    state_->replies.pop_front();
    return next;
  }

  std::vector<bluejeans::auth::HttpRequest> requests() const {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->requests;
  }

  std::size_t replies_left() const {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    return state_->replies.size();
  }

 private:
  struct State {
    std::mutex mutex;
    std::deque<bluejeans::auth::BackendResult> replies;
    std::vector<bluejeans::auth::HttpRequest> requests;
  };

  RecordingBackend& queue(bluejeans::auth::BackendResult result) {
    const std::lock_guard<std::mutex> lock(state_->mutex);
    state_->replies.push_back(std::move(result));
    return *this;
  }

  std::shared_ptr<State> state_;
};

}  // namespace example

#endif  // BLUEJEANS_AUTH_EXAMPLES_RECORDING_BACKEND_HPP
