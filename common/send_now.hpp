#pragma once
// A write tried at once on a socket in non-blocking mode, before an asynchronous write of what it does not
// take: when the socket takes it all (nearly always for a response or a few Redis commands on loopback), no
// completion handler is posted, and the I/O thread is spared a pass of Asio's queue and an epoll_wait
// (docs/performance-log.md, eleventh session). Used by the HTTP server's responses and the asynchronous Redis
// client's commands.
#include <boost/asio/buffer.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <string>

namespace emtiaz {

// Sends what `socket` (non-blocking) takes of `bytes` now and erases that from the front of `bytes`. False
// when the socket failed; a socket with no room for more is not a failure (nothing is sent).
inline bool send_now(boost::asio::ip::tcp::socket& socket, std::string& bytes) {
  boost::system::error_code ec;
  const std::size_t sent = socket.write_some(boost::asio::buffer(bytes), ec);
  if (ec == boost::asio::error::would_block || ec == boost::asio::error::try_again) return true;
  if (ec) return false;
  bytes.erase(0, sent);
  return true;
}

}  // namespace emtiaz
