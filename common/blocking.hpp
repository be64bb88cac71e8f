#pragma once
// Work tried on an I/O thread must not wait for MySQL. A request that can usually be answered from
// in-process caches and one short Redis read (a balance) is tried there first, inside a NoBlockingScope;
// where it would need a MySQL connection (a cache miss, Redis down), MysqlPool throws WouldBlock and the
// request is handed, untouched, to the worker pool instead. Saves two thread hand-offs per such request.
namespace emtiaz {

// Deliberately not a std::exception: the error handlers' `catch (const std::exception&)` must let it pass.
struct WouldBlock {};

namespace detail {
inline thread_local bool no_blocking = false;
}

inline bool blocking_forbidden() { return detail::no_blocking; }

class NoBlockingScope {
 public:
  NoBlockingScope() : previous_(detail::no_blocking) { detail::no_blocking = true; }
  ~NoBlockingScope() { detail::no_blocking = previous_; }
  NoBlockingScope(const NoBlockingScope&) = delete;
  NoBlockingScope& operator=(const NoBlockingScope&) = delete;

 private:
  bool previous_;
};

}  // namespace emtiaz
