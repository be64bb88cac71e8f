// The outbox's ledger events are pruned once older than wallet.outbox_retention_hours (a week: the default), and
// only once published and applied by clearing (wallet/command_pruner.hpp). On a network of the test's own: events
// published and applied, then one published while clearing is stopped; the test ages some of them past the week
// in MySQL and watches which the wallet deletes. Expected outcomes come from what the test did to each event.
#include <gtest/gtest.h>

#include <chrono>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "common/tests/metric_value.hpp"
#include "tests/support/api_client.hpp"
#include "tests/support/network.hpp"

namespace emtiaz::tests {
namespace {

using namespace std::chrono_literals;

struct Event {
  std::string member;
  std::string part, seq;
};

// One row's fields from `sql`, or empty when it gives none.
std::vector<std::string> row_of(const NetworkEnv& env, const std::string& sql) {
  auto rows = mysql_rows(env, sql);
  return rows && !rows->empty() ? rows->front() : std::vector<std::string>{};
}

TEST(OutboxRetention, AnEventIsPrunedOnlyOncePublishedAppliedAndPastTheRetention) {
  std::string start_error;
  const auto net = start_private_network(start_error);
  ASSERT_TRUE(net) << "private network did not come up: " << start_error;
  const auto& env = net->env();
  ApiClient api(net->url(), net->admin_token());
  auto tenant = api.create_tenant();
  ASSERT_FALSE(tenant.id.empty());
  auto partner = api.create_partner(tenant, 100);
  ASSERT_FALSE(partner.api_key.empty());

  // An earn to a new member, and where its ledger event sits in the outbox.
  auto earn = [&] {
    auto r = api.earn(partner.api_key, "phone:" + random_mobile(), 100000);
    EXPECT_EQ(r.status, 201) << r.describe();
    Event e{r.json()["balance"].value("member_id", ""), {}, {}};
    auto f = row_of(env, "SELECT part, seq FROM outbox WHERE payload LIKE '%\"" + e.member + "\"%'");
    EXPECT_EQ(f.size(), 2u) << "the outbox holds the earn's event";
    if (f.size() == 2) std::tie(e.part, e.seq) = std::pair{f[0], f[1]};
    return e;
  };
  auto where = [](const Event& e) { return " WHERE part = " + e.part + " AND seq = " + e.seq; };
  auto present = [&](const Event& e) {
    return row_of(env, "SELECT COUNT(*) FROM outbox" + where(e)) == std::vector<std::string>{"1"};
  };
  // Whether the wallet recorded the event as published, and clearing as applied.
  auto passed = [&](const Event& e, const char* position) {
    const std::string sql = std::string(position) == "published"
                                ? "SELECT published_seq >= " + e.seq + " FROM wallet_partitions WHERE part = " + e.part
                                : "SELECT applied_seq >= " + e.seq + " FROM clearing_positions WHERE part = " + e.part;
    return row_of(env, sql) == std::vector<std::string>{"1"};
  };
  auto age = [&](const Event& e) {
    std::string out;
    ASSERT_EQ(mysql_batch(env, "UPDATE outbox SET created_at = created_at - INTERVAL 8 DAY" + where(e), &out), 0)
        << out;
  };

  // Each event the test watches in a partition of its own: a partition's events are in commit order, and so, outside
  // this test, are their times; aged by hand, an old event behind a young one of the same partition would not be.
  std::set<std::string> parts;
  auto earn_apart = [&] {
    for (int tries = 0;; ++tries) {
      Event e = earn();
      if (e.part.empty() || parts.insert(e.part).second || tries == 50) return e;
    }
  };
  std::vector<Event> old{earn_apart(), earn_apart(), earn_apart()};
  const Event young = earn_apart();
  for (const auto& e : old) ASSERT_FALSE(e.seq.empty());
  ASSERT_FALSE(young.seq.empty());
  for (const Event& e : {old[0], old[1], old[2], young})
    ASSERT_TRUE(wait_until([&] { return passed(e, "published") && passed(e, "applied"); }, 30s, 200ms))
        << "event " << e.part << ":" << e.seq << " was not published and applied within 30 s";

  net->stop("clearing");
  const Event pending = earn_apart();
  ASSERT_FALSE(pending.seq.empty());
  ASSERT_TRUE(wait_until([&] { return passed(pending, "published"); }, 30s, 200ms));
  EXPECT_FALSE(passed(pending, "applied")) << "clearing is stopped";

  for (const auto& e : old) age(e);
  age(pending);
  // The pruner looks every 10 s when it has nothing to do.
  EXPECT_TRUE(wait_until([&] { return !present(old[0]) && !present(old[1]) && !present(old[2]); }, 45s, 250ms))
      << "events published, applied and older than the retention were not pruned within 45 s";
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(present(young)) << "an event younger than the retention is kept";
  EXPECT_TRUE(present(pending)) << "an event clearing has not applied is kept, however old";
  const auto metrics = net->wallet_admin().get("/metrics");
  EXPECT_GE(metric_in(metrics.body, "emtiaz_wallet_outbox_pruned_total"), 3.0) << metrics.body;

  // Clearing back: it applies the event (from the broker), and then the event goes too.
  net->start("clearing");
  ASSERT_TRUE(wait_until([&] { return passed(pending, "applied"); }, 30s, 200ms)) << net->log_tail("clearing");
  EXPECT_TRUE(wait_until([&] { return !present(pending); }, 45s, 250ms))
      << "the event, applied at last, was not pruned within 45 s";
  EXPECT_TRUE(present(young));
}

}  // namespace
}  // namespace emtiaz::tests
