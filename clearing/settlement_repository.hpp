#pragma once
// Settlements in MySQL: the rules of api.md (period_overlaps before period_gap), clearing's readiness
// (every partition's watermark at or past `to`), the computation over clearing_events, and the immutable
// stored result (the JSON body and the CSV bytes). The gateway and clearing share one database; the
// gateway reads clearing's tables directly through this repository.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/mysql.hpp"

namespace emtiaz::clearing {

struct StoredSettlement {
  std::int64_t seq = 0;
  std::string id;
  std::string tenant_id;
  std::int64_t from_us = 0;
  std::int64_t to_us = 0;
  std::string checksum;
  std::string body;  // the JSON document, exactly as first answered
  std::string csv;   // the CSV bytes (checksum = sha256_hex(csv))
};

// Why a period was not closed: it overlaps a closed settlement, it leaves a gap, or its figures do not fit an
// int64 (FiguresOutOfRange: too much moved in one period to state; shorter periods can be closed).
enum class CloseError { overlaps, gap, figures_out_of_range };

struct SettlementPage {
  std::vector<StoredSettlement> items;
  std::optional<std::int64_t> next_before_seq;
};

class SettlementRepository {
 public:
  SettlementRepository(MysqlPool& pool, int partitions) : pool_(pool), partitions_(partitions) {}

  // 409 period_overlaps / 422 period_gap, checked in that order (nullopt: the period may be closed).
  std::optional<CloseError> check_rules(const std::string& tenant_id, std::int64_t from_us, std::int64_t to_us);
  // True when every partition's clearing watermark is at or past `to_us`.
  bool caught_up(std::int64_t to_us);
  // Polls caught_up until true or `timeout` passed.
  bool wait_caught_up(std::int64_t to_us, std::chrono::milliseconds timeout);

  // Closes [from, to): under a lock on the tenant's row, re-checks the rules, computes the figures and stores
  // the settlement. `timezone` formats from/to/closed_at. Throws MysqlUnavailable/MysqlError.
  std::variant<StoredSettlement, CloseError> close(const std::string& tenant_id, const std::string& timezone,
                                                    std::int64_t from_us, std::int64_t to_us);

  std::optional<StoredSettlement> get(const std::string& tenant_id, const std::string& id);
  SettlementPage list(const std::string& tenant_id, int limit, std::optional<std::int64_t> before_seq);

 private:
  std::optional<CloseError> check_rules(sql::Connection& c, const std::string& tenant_id, std::int64_t from_us,
                                        std::int64_t to_us);
  MysqlPool& pool_;
  int partitions_;
};

}  // namespace emtiaz::clearing
