#pragma once
// A tiny synchronous HTTP/1.1 client for the integration tests (Boost.Beast): one keep-alive connection to
// one base URL, every call bounded by a timeout. Transport failures do not throw: they come back as
// status 0 with `error` set, so that tests can poll a server that is not up yet.
#include <chrono>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace emtiaz::tests {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;                              // 0: no response (see error)
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;
  std::string error;  // transport error, when status is 0

  // The header's value, or "" (name is case-insensitive).
  std::string header(std::string_view name) const;
  // The body parsed as JSON (throws nlohmann::json::parse_error if it is not).
  nlohmann::json json() const;
  // "HTTP 503 application/problem+json {...}" for assertion messages.
  std::string describe() const;
};

class HttpClient {
 public:
  // base_url: "http://127.0.0.1:8080" (a trailing slash or path is ignored).
  explicit HttpClient(std::string base_url, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  ~HttpClient();
  HttpClient(HttpClient&&) noexcept;
  HttpClient& operator=(HttpClient&&) noexcept;
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request; `target` is the path with its query ("/v1/ready"). A body gets
  // Content-Type: application/json unless the headers name another one.
  HttpResponse request(std::string_view method, std::string_view target, const Headers& headers = {},
                       std::string_view body = {});

  HttpResponse get(std::string_view target, const Headers& headers = {});
  HttpResponse post(std::string_view target, const nlohmann::json& body, const Headers& headers = {});
  HttpResponse patch(std::string_view target, const nlohmann::json& body, const Headers& headers = {});
  HttpResponse del(std::string_view target, const Headers& headers = {});

  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }
  const std::string& base_url() const { return base_url_; }
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }

 private:
  struct Impl;
  std::string base_url_;
  std::string host_;
  std::string port_;
  std::chrono::milliseconds timeout_;
  Impl* impl_ = nullptr;
};

// Authorization: Bearer <token>
std::pair<std::string, std::string> bearer(std::string_view token);

}  // namespace emtiaz::tests
