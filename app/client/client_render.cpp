#include "app/client/client_render.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "messages/lifecycle.hpp"
#include "messages/printable.hpp"

namespace nv::client {

namespace {

// A field's text, printable; "-" when absent or not a string or a number.
std::string text_of(const nlohmann::json& obj, const char* key, std::string missing = "-") {
  if (!obj.is_object() || !obj.contains(key))
    return missing;
  const auto& v = obj[key];
  if (v.is_string())
    return v.get_ref<const std::string&>().empty() ? missing : printable(v.get<std::string>());
  if (v.is_number() || v.is_boolean())
    return v.dump();
  return missing;
}

uint32_t count_of(const nlohmann::json& obj, const char* key) {
  if (!obj.is_object() || !obj.contains(key) || !obj[key].is_number())
    return 0;
  if (obj[key].is_number_integer()) {
    auto v = obj[key].get<int64_t>();
    return v < 0 ? 0 : static_cast<uint32_t>(std::min<int64_t>(v, UINT32_MAX));
  }
  return 0;
}

std::string joined(const nlohmann::json& arr, const char* field = nullptr) {
  std::string out;
  if (!arr.is_array())
    return out;
  for (auto& v : arr) {
    std::string item;
    if (v.is_string())
      item = printable(v.get<std::string>());
    else if (field && v.is_object())
      item = text_of(v, field, "");
    else if (v.is_object()) {
      for (const char* k : {"path", "actor", "name", "service", "id"})
        if (item.empty())
          item = text_of(v, k, "");
      if (item.empty())
        item = json_text(v, -1);
    } else
      item = json_text(v, -1);
    if (!item.empty())
      out += (out.empty() ? "" : ", ") + item;
  }
  return out;
}

void tree_walk(const nlohmann::json& node, int depth, std::vector<std::string>& out) {
  if (!node.is_object())
    return;
  std::string name = text_of(node, "id", "");
  if (name.empty())
    name = text_of(node, "path", "?");
  std::string line(static_cast<std::size_t>(depth) * 2, ' ');
  line += name + "  " + text_of(node, "state");
  if (node.contains("pid") && node["pid"].is_number_integer())
    line += "  pid " + node["pid"].dump();
  if (count_of(node, "restarts") > 0)
    line += "  restarts " + std::to_string(count_of(node, "restarts"));
  out.push_back(std::move(line));
  if (node.contains("children") && node["children"].is_array())
    for (auto& c : node["children"])
      tree_walk(c, depth + 1, out);
}

} // namespace

int64_t parse_rfc3339_us(const std::string& text) {
  std::tm tm{};
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, used = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s, &used) != 6)
    return 0;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  int64_t us = static_cast<int64_t>(timegm(&tm)) * 1'000'000;
  std::size_t at = static_cast<std::size_t>(used);
  if (at < text.size() && text[at] == '.') {
    int64_t scale = 100'000;
    for (++at; at < text.size() && std::isdigit(static_cast<unsigned char>(text[at])); ++at) {
      us += (text[at] - '0') * scale;
      scale /= 10;
    }
  }
  if (at >= text.size() || (text[at] != 'Z' && text[at] != 'z'))
    return 0; // the daemon writes UTC; an offset would need more than this reads
  return us;
}

std::vector<std::string> table_lines(const std::vector<std::vector<std::string>>& cells) {
  std::vector<std::size_t> width;
  for (auto& line : cells) {
    width.resize(std::max(width.size(), line.size()), 0);
    for (std::size_t c = 0; c < line.size(); ++c)
      width[c] = std::max(width[c], line[c].size());
  }
  std::vector<std::string> out;
  for (auto& line : cells) {
    std::string text;
    for (std::size_t c = 0; c < line.size(); ++c) {
      if (c > 0)
        text += "  ";
      text += line[c];
      if (c + 1 < line.size())
        text += std::string(width[c] - line[c].size(), ' ');
    }
    out.push_back(std::move(text));
  }
  return out;
}

std::vector<std::string> deployments_table(const nlohmann::json& list) {
  std::vector<std::vector<std::string>> cells{
      {"DEPLOYMENT", "STATUS", "SERVICES", "GENERATION", "DESIRED", "UPDATED"}};
  if (list.is_array())
    for (auto& d : list) {
      std::string services = text_of(d, "service_count", "");
      if (services.empty() && d.is_object() && d.contains("services") && d["services"].is_array())
        services = std::to_string(d["services"].size());
      cells.push_back({text_of(d, "name"), text_of(d, "status"), services.empty() ? "-" : services,
                       text_of(d, "generation"), text_of(d, "desired"), text_of(d, "updated_at")});
    }
  return table_lines(cells);
}

std::vector<service_row> service_rows(const nlohmann::json& details) {
  std::vector<service_row> rows;
  if (!details.is_object() || !details.contains("service_details") ||
      !details["service_details"].is_array())
    return rows;
  for (auto& s : details["service_details"]) {
    if (!s.is_object())
      continue;
    service_row r;
    r.name = text_of(s, "name", "?");
    lifecycle state{};
    std::string word = s.contains("state") && s["state"].is_string() ? s["state"].get<std::string>()
                                                                     : std::string{};
    if (from_string(word, state))
      r.state = state;
    r.replicas = count_of(s, "desired_replicas");
    r.running = count_of(s, "replicas_running");
    r.healthy = count_of(s, "replicas_healthy");
    r.restarts = count_of(s, "restarts");
    if (s.contains("instances") && s["instances"].is_array())
      for (auto& i : s["instances"]) {
        if (!i.is_object())
          continue;
        if (i.contains("pid") && i["pid"].is_number_integer())
          r.pids.push_back(i["pid"].get<int32_t>());
        if (i.contains("started_at") && i["started_at"].is_string()) {
          // The service is up since its oldest replica that is up.
          auto since = parse_rfc3339_us(i["started_at"].get<std::string>());
          if (since > 0 && (r.up_since_us == 0 || since < r.up_since_us))
            r.up_since_us = since;
        }
      }
    if (s.contains("last_error") && s["last_error"].is_object())
      r.reason = text_of(s["last_error"], "message", "");
    rows.push_back(std::move(r));
  }
  return rows;
}

std::vector<std::string> tree_lines(const nlohmann::json& tree) {
  std::vector<std::string> out;
  tree_walk(tree, 0, out);
  return out;
}

std::vector<std::string> nodes_table(const nlohmann::json& nodes) {
  std::vector<std::vector<std::string>> cells{{"NAME", "OS", "ARCH", "RUNTIMES", "LINK", "RUNS"}};
  if (nodes.is_array())
    for (auto& n : nodes) {
      std::string runs;
      if (n.is_object() && n.contains("runs") && n["runs"].is_array())
        for (auto& r : n["runs"])
          runs += (runs.empty() ? "" : ", ") + text_of(r, "deployment", "?") + "/" +
                  text_of(r, "service", "?");
      // {"linux": "process", "windows": "sim"}: "linux=process, windows=sim".
      std::string runtimes;
      if (n.is_object() && n.contains("runtimes") && n["runtimes"].is_object())
        for (auto& [os, runtime] : n["runtimes"].items())
          runtimes +=
              (runtimes.empty() ? "" : ", ") + os + "=" + text_of(n["runtimes"], os.c_str());
      cells.push_back({text_of(n, "name"), text_of(n, "os"), text_of(n, "arch"),
                       runtimes.empty() ? "-" : runtimes, text_of(n, "link"),
                       runs.empty() ? "-" : runs});
    }
  return table_lines(cells);
}

std::vector<std::string> plan_lines(const nlohmann::json& plan) {
  std::vector<std::string> out;
  const std::string name = text_of(plan, "deployment", "");
  out.push_back("dry run" + (name.empty() ? std::string{} : " of '" + name + "'") +
                ": nothing was changed");
  const nlohmann::json* change = &plan;
  if (plan.is_object() && plan.contains("change"))
    change = &plan["change"];
  if (change->is_object()) {
    bool any = false;
    for (auto& [key, value] : change->items()) {
      if (value.is_array()) {
        auto items = joined(value);
        out.push_back("  " + printable(key) + ": " + (items.empty() ? "-" : items));
        any = any || !value.empty();
      } else if (value.is_string() || value.is_number() || value.is_boolean())
        out.push_back("  " + printable(key) + ": " + text_of(*change, key.c_str()));
    }
    if (!any)
      out.push_back("  no actor would start, stop or restart");
  } else if (!change->is_null())
    out.push_back(json_text(*change));
  return out;
}

std::string json_text(const nlohmann::json& j, int indent) {
  return j.dump(indent, ' ', true, nlohmann::json::error_handler_t::replace);
}

} // namespace nv::client
