#include "trace/docker_event.hpp"

#include <cstdint>
#include <cstdio>
#include <ctime>

namespace nv {

namespace {

struct container_path {
  std::string deployment, service, replica_id, replica;
};

// /DEPLOYMENT/SERVICE/SERVICE-rep-N, N from 1; anything else (a probe, a wait, the node's own
// actors) is not a container.
std::optional<container_path> parse_container_path(std::string_view path) {
  if (!path.starts_with('/'))
    return std::nullopt;
  path.remove_prefix(1);
  std::string_view parts[3];
  for (int i = 0; i < 3; ++i) {
    const std::size_t slash = path.find('/');
    if ((slash == std::string_view::npos) != (i == 2))
      return std::nullopt;
    parts[i] = path.substr(0, slash);
    if (parts[i].empty())
      return std::nullopt;
    path = i == 2 ? std::string_view{} : path.substr(slash + 1);
  }
  const std::string prefix = std::string(parts[1]) + "-rep-";
  if (!parts[2].starts_with(prefix))
    return std::nullopt;
  const std::string_view n = parts[2].substr(prefix.size());
  if (n.empty() || n.front() == '0' || n.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return container_path{std::string(parts[0]), std::string(parts[1]), std::string(parts[2]),
                        std::string(n)};
}

// 2026-12-02T20:24:53.123456Z
std::string rfc3339(int64_t ts_us) {
  const int64_t secs = ts_us >= 0 ? ts_us / 1000000 : (ts_us - 999999) / 1000000;
  const int64_t micros = ts_us - secs * 1000000;
  const std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96]; // room for any int the format may be given, so no truncation warning
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06d", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(micros));
  return std::string(buf) + "Z";
}

nlohmann::json string_or_null(const nlohmann::json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_string() ? *it : nlohmann::json(nullptr);
}

nlohmann::json error_message(const nlohmann::json& line) {
  const auto it = line.find("error");
  return it != line.end() && it->is_object() ? string_or_null(*it, "message")
                                             : nlohmann::json(nullptr);
}

} // namespace

std::vector<nlohmann::json> docker_events(const nlohmann::json& line) {
  std::vector<nlohmann::json> events;
  if (!line.is_object())
    return events;
  const auto actor = line.find("actor");
  const auto event = line.find("event");
  if (actor == line.end() || !actor->is_string() || event == line.end() || !event->is_string())
    return events;
  const std::optional<container_path> path = parse_container_path(actor->get<std::string>());
  if (!path)
    return events;

  const auto make = [&](const char* kind) {
    const auto ts = line.find("ts_us");
    return nlohmann::json{
        {"resource", "container"},
        {"kind", kind},
        {"id", path->replica_id},
        {"labels",
         {{"deployment", path->deployment},
          {"service", path->service},
          {"replica", path->replica}}},
        {"exit_code", nullptr},
        {"reason", nullptr},
        {"status", nullptr},
        {"at", rfc3339(ts != line.end() && ts->is_number_integer() ? ts->get<int64_t>() : 0)}};
  };

  const std::string& what = event->get_ref<const std::string&>();
  if (what == "state") {
    const nlohmann::json to = string_or_null(line, "to");
    if (to == "running") {
      events.push_back(make("start"));
    } else if (to == "healthy") {
      events.push_back(make("health"));
      events.back()["status"] = "healthy";
    }
  } else if (what == "failure") {
    const auto error = line.find("error");
    if (error != line.end() && error->is_object() &&
        error->value("kind", "") == "HealthCheckFailed") {
      events.push_back(make("health"));
      events.back()["status"] = "unhealthy";
      events.back()["reason"] = error_message(line);
    }
  } else if (what == "exit") {
    nlohmann::json die = make("die");
    const auto code = line.find("code");
    if (code != line.end() && code->is_number_integer())
      die["exit_code"] = *code;
    die["reason"] = error_message(line);
    if (die["reason"].is_null())
      die["reason"] = string_or_null(line, "reason");
    events.push_back(die);
    const auto oom = line.find("oom_killed");
    if (oom != line.end() && oom->is_boolean() && oom->get<bool>()) {
      events.push_back(make("oom"));
      events.back()["exit_code"] = die["exit_code"];
      events.back()["reason"] = "oom_killed";
    }
  }
  return events;
}

std::vector<std::string> docker_source_events() {
  return {"state", "failure", "exit"};
}

std::optional<label_filter> parse_label_filter(std::string_view text) {
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return std::nullopt;
  return label_filter{std::string(text.substr(0, eq)), std::string(text.substr(eq + 1))};
}

bool matches_labels(const nlohmann::json& event, const std::vector<label_filter>& filters) {
  const auto labels = event.find("labels");
  for (const label_filter& f : filters) {
    if (labels == event.end() || !labels->is_object())
      return false;
    const auto it = labels->find(f.key);
    if (it == labels->end() || !it->is_string() || it->get_ref<const std::string&>() != f.value)
      return false;
  }
  return true;
}

} // namespace nv
