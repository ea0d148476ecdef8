// raw_server.hpp: a POSIX-socket server on 127.0.0.1 that answers with whatever bytes a test
// scripts, for replies no well-behaved HTTP server would send.
// SPDX-License-Identifier: MIT
#ifndef BLUEJEANS_AUTH_TESTS_RAW_SERVER_HPP
#define BLUEJEANS_AUTH_TESTS_RAW_SERVER_HPP

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>

namespace test_support {

// One accepted connection, as a handler sees it. Every wait is bounded, and every loop a
// handler writes must end when stopping() turns true or a send fails.
class RawConnection {
 public:
  RawConnection(int fd, const std::atomic<bool>& stopping) : fd_(fd), stopping_(&stopping) {}

  bool stopping() const { return *stopping_; }
  int fd() const { return fd_; }

  // Reads one request: the header block and a body of its Content-Length. Empty on failure.
  std::string read_request() {
    std::string data;
    std::size_t header_end = std::string::npos;
    std::size_t wanted = 0;
    while (!stopping()) {
      if (header_end == std::string::npos) {
        header_end = data.find("\r\n\r\n");
        if (header_end != std::string::npos) {
          wanted = header_end + 4 + content_length(data.substr(0, header_end));
        }
      }
      if (header_end != std::string::npos && data.size() >= wanted) {
        return data;
      }
      pollfd poller{fd_, POLLIN, 0};
      if (::poll(&poller, 1, 2000) <= 0) {
        return "";
      }
      char buffer[4096];
      const ssize_t got = ::recv(fd_, buffer, sizeof buffer, 0);
      if (got <= 0) {
        return "";
      }
      data.append(buffer, static_cast<std::size_t>(got));
    }
    return "";
  }

  // Sends all of bytes; false once the peer is gone or the server is stopping.
  bool send(std::string_view bytes) {
    while (!bytes.empty() && !stopping()) {
      pollfd poller{fd_, POLLOUT, 0};
      if (::poll(&poller, 1, 100) < 0) {
        return false;
      }
      if (!(poller.revents & POLLOUT)) {
        continue;
      }
      const ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (sent <= 0) {
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(sent));
    }
    return bytes.empty();
  }

  // Waits, a little at a time so that stopping is noticed; false when stopping.
  bool pause(std::chrono::milliseconds duration) {
    const auto until = std::chrono::steady_clock::now() + duration;
    while (std::chrono::steady_clock::now() < until) {
      if (stopping()) {
        return false;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return !stopping();
  }

  // Holds the connection open without sending until the peer closes it or the server stops.
  void hold() {
    char buffer[256];
    while (!stopping()) {
      pollfd poller{fd_, POLLIN, 0};
      const int ready = ::poll(&poller, 1, 20);
      if (ready < 0 || (ready > 0 && ::recv(fd_, buffer, sizeof buffer, 0) <= 0)) {
        return;
      }
    }
  }

  // Makes the coming close send a reset instead of an orderly end.
  void reset_on_close() {
    linger option{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &option, sizeof option);
  }

 private:
  static std::size_t content_length(const std::string& head) {
    const auto at = head.find("Content-Length: ");
    return at == std::string::npos ? 0 : std::strtoul(head.c_str() + at + 16, nullptr, 10);
  }

  int fd_;
  const std::atomic<bool>* stopping_;
};

// Serves connections one after another, each with the same handler, until destroyed.
class RawServer {
 public:
  using Handler = std::function<void(RawConnection&)>;

  explicit RawServer(Handler handler) : handler_(std::move(handler)) {
    listener_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof address;
    if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&address), size) != 0 ||
        ::listen(listener_, 8) != 0 ||
        ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size) != 0) {
      throw std::runtime_error("the raw test server could not listen on 127.0.0.1");
    }
    port_ = ntohs(address.sin_port);
    thread_ = std::thread([this] { serve(); });
  }

  ~RawServer() {
    stopping_ = true;
    thread_.join();
    ::close(listener_);
  }

  RawServer(const RawServer&) = delete;
  RawServer& operator=(const RawServer&) = delete;

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string authority() const { return "127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }

 private:
  void serve() {
    while (!stopping_) {
      pollfd poller{listener_, POLLIN, 0};
      if (::poll(&poller, 1, 20) <= 0) {
        continue;
      }
      const int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0) {
        continue;
      }
      ++connections_;
      RawConnection connection(fd, stopping_);
      handler_(connection);
      ::close(fd);
    }
  }

  Handler handler_;
  int listener_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> connections_{0};
  std::thread thread_;
};

}  // namespace test_support

#endif  // BLUEJEANS_AUTH_TESTS_RAW_SERVER_HPP
