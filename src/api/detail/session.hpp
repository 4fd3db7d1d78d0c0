// One HTTP/1.1 connection: read a request, dispatch it, write the response, repeat while
// keep-alive holds.
//
// Limits: headers at most 16 KiB; bodies at most max_body_bytes (413, then the connection
// is closed after reading and discarding what the client still sends, so it sees the
// response rather than a reset); a malformed request gets a 400 and the connection closes;
// an idle connection is closed after idle_timeout.
//
// Shutdown: close_idle() cancels the read of every connection waiting for a request; a
// connection busy with one finishes it, answers with "Connection: close" and closes.
//
// Thread-safety: everything runs on the worker's executor.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "detail/context.hpp"

namespace folio::api::detail {

boost::asio::awaitable<void> serve_connection(Worker& worker, boost::asio::ip::tcp::socket socket);

// Cancels the connections of `worker` that are waiting for their next request.
void close_idle(Worker& worker);

}  // namespace folio::api::detail
