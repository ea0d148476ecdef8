// recording_backend.hpp: a fake backend that records what it was asked to send and answers
// with a scripted reply or transport failure.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_RECORDING_BACKEND_HPP
#define BLUEJEANS_AUTH_TESTS_RECORDING_BACKEND_HPP

#include "bluejeans_auth.hpp"

#include <memory>
#include <vector>

namespace test_support {

class RecordingBackend {
 public:
  // Copies share one record, so a test keeps a copy after handing one to the API.
  explicit RecordingBackend(bluejeans::auth::BackendResult reply = ok_reply())
      : state_(std::make_shared<State>()) {
    state_->reply = std::move(reply);
  }

  bluejeans::auth::BackendResult send(const bluejeans::auth::HttpRequest& request) {
    state_->sent.push_back(request);
    return state_->reply;
  }

  const std::vector<bluejeans::auth::HttpRequest>& sent() const { return state_->sent; }
  void answer(bluejeans::auth::BackendResult reply) { state_->reply = std::move(reply); }

  static bluejeans::auth::HttpResponse ok_reply() {
    bluejeans::auth::HttpResponse response;
    response.status = 200;
    response.body = R"({"access_token":"recorded-token-0123456789","expires_in":3600})";
    return response;
  }

 private:
  struct State {
    bluejeans::auth::BackendResult reply;
    std::vector<bluejeans::auth::HttpRequest> sent;
  };
  std::shared_ptr<State> state_;
};

}  // namespace test_support

#endif  // BLUEJEANS_AUTH_TESTS_RECORDING_BACKEND_HPP
