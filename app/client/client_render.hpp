// What the CLI clients print from the daemon's JSON (design.md §8): tables and trees as text
// lines, every text the daemon sent made printable. Tolerant of fields it does not know and of
// fields that are missing (the daemon may be newer or older than the CLI).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "app/status_table.hpp"

namespace nv::client {

// RFC 3339 UTC ("2026-12-02T20:35:41.123Z", fraction optional) as µs since the epoch; 0 when
// it is not one.
int64_t parse_rfc3339_us(const std::string& text);

// `ps`: DEPLOYMENT STATUS SERVICES GENERATION DESIRED UPDATED, from the array of details.
std::vector<std::string> deployments_table(const nlohmann::json& list);

// `ps DEPLOYMENT`: the rows `run`'s live status draws, from a deployment's service_details.
std::vector<service_row> service_rows(const nlohmann::json& details);

// `tree`: one line per actor, indented by depth: "api-rep-1  healthy  pid 4242  restarts 2".
std::vector<std::string> tree_lines(const nlohmann::json& tree);

// `node ls`: NAME OS ARCH RUNTIMES LINK RUNS.
std::vector<std::string> nodes_table(const nlohmann::json& nodes);

// `deploy --dry-run`: what the change would do, one line per kind of change ("start: a, b").
std::vector<std::string> plan_lines(const nlohmann::json& plan);

// JSON as `-o json` prints it: 2-space indent, every non-ASCII character escaped so that no
// text from a workload reaches the terminal raw (the value is unchanged).
std::string json_text(const nlohmann::json& j, int indent = 2);

// Columns padded to the widest cell, the last one unpadded.
std::vector<std::string> table_lines(const std::vector<std::vector<std::string>>& cells);

} // namespace nv::client
