// A small synchronous HTTP/1.1 client for tests of folio-server: one keep-alive connection,
// reopened when the server closed it, every exchange bounded by a timeout.
//
//   HttpClient http("127.0.0.1", server.port());
//   auto res = http.request("POST", "/v1/orgs/7/revenues", token, R"({"category": ...})");
//   EXPECT_EQ(res.status, 201);
//   EXPECT_EQ(res.json().at("amount_cents").as_int64(), 1250);
//
// Thread-safety: one HttpClient per thread; it owns its io_context and connection.
#pragma once

#include <boost/json/value.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace folio::test {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names in lower case
  bool keep_alive = false;                     // the server left the connection open

  // The body parsed as JSON; throws std::runtime_error (quoting the body) when it is not.
  boost::json::value json() const;
  // A header's value, "" when absent. `name` in any case.
  std::string header(std::string_view name) const;
};

class HttpClient {
 public:
  HttpClient(std::string host, int port,
             std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request and reads its response. `token` non-empty adds
  // "Authorization: Bearer <token>"; a body gets "Content-Type: application/json" unless
  // `headers` sets a Content-Type. `headers` are added as given (a repeated name is sent
  // twice). Throws std::runtime_error on a transport failure or timeout.
  HttpResponse request(std::string_view method, std::string_view target,
                       std::string_view token = {}, std::optional<std::string> body = std::nullopt,
                       const Headers& headers = {});

  // Writes `bytes` as they are (a hand-made, possibly malformed request) on a fresh
  // connection and reads one response.
  HttpResponse request_raw(std::string_view bytes);

  // Closes the connection; the next request opens a new one.
  void close();
  // Connections opened so far (keep-alive checks).
  int connections_opened() const { return connections_opened_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int connections_opened_ = 0;
};

}  // namespace folio::test
