#include "tests/support/http_client.hpp"

#include <algorithm>
#include <cctype>
#include <memory>
#include <optional>
#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace emtiaz::tests {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  auto it = headers.find(lower(name));
  return it == headers.end() ? std::string() : it->second;
}

nlohmann::json HttpResponse::json() const { return nlohmann::json::parse(body); }

std::string HttpResponse::describe() const {
  if (status == 0) return "no response: " + error;
  std::string text = "HTTP " + std::to_string(status) + " " + header("content-type") + " " + body;
  if (text.size() > 2000) text = text.substr(0, 2000) + "...";
  return text;
}

struct HttpClient::Impl {
  asio::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  beast::flat_buffer buffer;
};

HttpClient::HttpClient(std::string base_url, std::chrono::milliseconds timeout)
    : base_url_(std::move(base_url)), timeout_(timeout), impl_(new Impl) {
  std::string_view rest = base_url_;
  if (rest.starts_with("http://")) rest.remove_prefix(7);
  rest = rest.substr(0, rest.find('/'));
  const auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) {
    host_ = std::string(rest);
    port_ = "80";
  } else {
    host_ = std::string(rest.substr(0, colon));
    port_ = std::string(rest.substr(colon + 1));
  }
  while (!base_url_.empty() && base_url_.back() == '/') base_url_.pop_back();
}

HttpClient::~HttpClient() { delete impl_; }

HttpClient::HttpClient(HttpClient&& other) noexcept
    : base_url_(std::move(other.base_url_)),
      host_(std::move(other.host_)),
      port_(std::move(other.port_)),
      timeout_(other.timeout_),
      impl_(std::exchange(other.impl_, nullptr)) {}

HttpClient& HttpClient::operator=(HttpClient&& other) noexcept {
  if (this != &other) {
    delete impl_;
    base_url_ = std::move(other.base_url_);
    host_ = std::move(other.host_);
    port_ = std::move(other.port_);
    timeout_ = other.timeout_;
    impl_ = std::exchange(other.impl_, nullptr);
  }
  return *this;
}

HttpResponse HttpClient::request(std::string_view method, std::string_view target, const Headers& headers,
                                 std::string_view body) {
  if (impl_ == nullptr) impl_ = new Impl;
  http::request<http::string_body> req;
  req.method_string(beast::string_view(method.data(), method.size()));
  req.target(beast::string_view(target.data(), target.size()));
  req.version(11);
  req.set(http::field::host, host_ + ":" + port_);
  req.set(http::field::user_agent, "emtiaz-tests");
  bool has_content_type = false;
  for (const auto& [name, value] : headers) {
    if (lower(name) == "content-type") has_content_type = true;
    req.set(name, value);
  }
  if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
    if (!has_content_type && !body.empty()) req.set(http::field::content_type, "application/json");
    req.body() = std::string(body);
    req.prepare_payload();
  }
  req.keep_alive(true);

  // Two attempts: a kept-alive connection the server has closed meanwhile fails on first use.
  for (int attempt = 0;; ++attempt) {
    const bool reused = impl_->stream.has_value();
    HttpResponse out;
    beast::error_code ec;
    http::response<http::string_body> res;
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    impl_->ioc.restart();
    if (!impl_->stream) {
      impl_->stream.emplace(impl_->ioc);
      impl_->buffer.clear();
      tcp::resolver resolver(impl_->ioc);
      auto endpoints = resolver.resolve(host_, port_, ec);
      if (ec) {
        impl_->stream.reset();
        out.error = "resolve " + host_ + ":" + port_ + ": " + ec.message();
        return out;
      }
      impl_->stream->expires_after(timeout_);
      impl_->stream->async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
      impl_->ioc.run();
      if (ec) {
        impl_->stream.reset();
        out.error = "connect " + host_ + ":" + port_ + ": " + ec.message();
        return out;
      }
      impl_->stream->socket().set_option(tcp::no_delay(true), ec);
      ec = {};
    }
    impl_->ioc.restart();
    impl_->stream->expires_after(timeout_);
    bool write_failed = false;
    http::async_write(*impl_->stream, req, [&](beast::error_code e, std::size_t) {
      if (e) {
        ec = e;
        write_failed = true;
        return;
      }
      http::async_read(*impl_->stream, impl_->buffer, parser, [&](beast::error_code e2, std::size_t) { ec = e2; });
    });
    impl_->ioc.run();
    if (ec) {
      impl_->stream.reset();
      const bool stale = reused && (write_failed || ec == http::error::end_of_stream ||
                                    ec == asio::error::connection_reset || ec == asio::error::eof);
      if (stale && attempt == 0) continue;
      out.error = std::string(write_failed ? "write: " : "read: ") + ec.message();
      return out;
    }
    res = parser.release();
    out.status = static_cast<int>(res.result_int());
    for (const auto& field : res) {
      out.headers[lower(std::string_view(field.name_string().data(), field.name_string().size()))] =
          std::string(field.value());
    }
    out.body = std::move(res.body());
    if (!res.keep_alive()) {
      beast::error_code ignored;
      impl_->stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
      impl_->stream.reset();
    }
    return out;
  }
}

HttpResponse HttpClient::get(std::string_view target, const Headers& headers) {
  return request("GET", target, headers);
}

HttpResponse HttpClient::post(std::string_view target, const nlohmann::json& body, const Headers& headers) {
  return request("POST", target, headers, body.dump());
}

HttpResponse HttpClient::patch(std::string_view target, const nlohmann::json& body, const Headers& headers) {
  return request("PATCH", target, headers, body.dump());
}

HttpResponse HttpClient::del(std::string_view target, const Headers& headers) {
  return request("DELETE", target, headers);
}

std::pair<std::string, std::string> bearer(std::string_view token) {
  return {"Authorization", "Bearer " + std::string(token)};
}

}  // namespace emtiaz::tests
