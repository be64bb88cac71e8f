#pragma once
#include "gateway/app.hpp"
#include "gateway/router.hpp"

namespace emtiaz::gateway {

// Earn, refunds, redemptions, adjustments (routed to the wallet) and the points reads (balance,
// transactions, redemption).
void register_points_routes(Router& router, App& app);

}  // namespace emtiaz::gateway
