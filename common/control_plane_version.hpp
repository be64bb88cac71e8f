#pragma once
// The control plane's change counter (migrations/009_control_plane_version.sql). A writer that changes what
// a gateway may have cached about a token, a tenant or a partner raises it in the same transaction: a key
// revoked, a partner or a tenant PATCHed. Creating a tenant, a partner or a key does not: nothing can have
// been cached about it yet (a new key's token was never presented, and a missing tenant or partner is never
// cached). The gateways' watch (gateway/control_plane_watch.hpp) reads it and empties their caches when it moves.
#include <cppconn/connection.h>

#include <cstdint>

namespace emtiaz {

// Raises the counter; call inside the transaction that makes the change (autocommit off), so that a gateway
// that sees the new value also sees the change.
void note_control_plane_change(sql::Connection& c);

// The counter as committed now.
std::int64_t read_control_plane_version(sql::Connection& c);

}  // namespace emtiaz
