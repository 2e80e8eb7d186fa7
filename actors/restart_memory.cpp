#include "actors/restart_memory.hpp"

#include <nlohmann/json.hpp>

#include "messages/digest.hpp"
#include "messages/failure.hpp"

namespace nv {

namespace {

using time_point = caf::actor_clock::time_point;

// The clocks at one instant, to move a time point from one to the other.
struct clocks {
  time_point steady;
  int64_t wall_us;
};

int64_t to_wall(const clocks& c, time_point t) {
  return c.wall_us - std::chrono::duration_cast<std::chrono::microseconds>(c.steady - t).count();
}

time_point to_steady(const clocks& c, int64_t wall_us) {
  return c.steady - std::chrono::microseconds{c.wall_us - wall_us};
}

std::string supervisor_key(const std::string& path) {
  return path + "/@";
}

const nlohmann::json* find_record(const std::map<std::string, std::string>& memory,
                                  const std::string& key, nlohmann::json& storage) {
  auto it = memory.find(key);
  if (it == memory.end())
    return nullptr;
  storage = nlohmann::json::parse(it->second, nullptr, false);
  return storage.is_object() ? &storage : nullptr;
}

std::vector<time_point> times(const nlohmann::json& j, const char* field, const clocks& c) {
  std::vector<time_point> out;
  if (auto it = j.find(field); it != j.end() && it->is_array())
    for (const auto& t : *it)
      if (t.is_number_integer())
        out.push_back(to_steady(c, t.get<int64_t>()));
  return out;
}

std::vector<time_point> recall_intensity(const std::map<std::string, std::string>& memory,
                                         const std::string& path, const clocks& c) {
  nlohmann::json storage;
  const auto* j = find_record(memory, supervisor_key(path), storage);
  return j != nullptr ? times(*j, "intensity_us", c) : std::vector<time_point>{};
}

// A child's record, into the history its next first start takes. A completion counts only for
// the same replica (`fingerprint`): one an apply changed since runs.
std::shared_ptr<restart_history> recall_child(const std::map<std::string, std::string>& memory,
                                              const std::string& path, const clocks& c,
                                              std::shared_ptr<restart_history> into,
                                              const std::string& fingerprint = {}) {
  nlohmann::json storage;
  const auto* j = find_record(memory, path, storage);
  if (j == nullptr)
    return into;
  if (!into)
    into = std::make_shared<restart_history>();
  into->restarts_before = j->value("restarts", 0u);
  auto completed = j->value("completed", std::string{});
  // Daemons before fingerprints were digests noted the canonical text itself: its digest is
  // what this one compares, so a job completed under the old daemon stays completed.
  into->completed_before = !completed.empty() && !fingerprint.empty() &&
                           (completed == fingerprint || text_digest(completed) == fingerprint);
  into->recent = times(*j, "recent_us", c);
  into->last_start = to_steady(c, j->value("last_start_us", int64_t{0}));
  if (auto due = j->value("due_us", int64_t{0}); due > 0)
    into->due = to_steady(c, due);
  return into;
}

} // namespace

std::string memory_prefix(const std::string& deployment) {
  return "/" + deployment + "/";
}

void remember_restart(supervision_memory& memory, const supervisor_state& st, std::size_t index,
                      duration delay, time_point now) {
  clocks c{now, now_us()};
  const auto& rec = st.children[index];
  nlohmann::json recent = nlohmann::json::array();
  for (auto t : rec.history->recent)
    recent.push_back(to_wall(c, t));
  nlohmann::json child{{"restarts", rec.restarts},
                       {"recent_us", std::move(recent)},
                       {"last_start_us", to_wall(c, rec.history->last_start)},
                       {"due_us", to_wall(c, now + delay)}};
  memory.remember(rec.path, child.dump());
  nlohmann::json intensity = nlohmann::json::array();
  for (auto t : st.recent_restarts)
    intensity.push_back(to_wall(c, t));
  memory.remember(supervisor_key(st.path), nlohmann::json{{"intensity_us", intensity}}.dump());
}

void remember_completion(supervision_memory& memory, const child_record& rec,
                         const std::string& fingerprint) {
  if (fingerprint.empty())
    return; // an unknown replica: it runs again rather than being taken for another
  memory.remember(rec.path,
                  nlohmann::json{{"restarts", rec.restarts}, {"completed", fingerprint}}.dump());
}

void recall(deployment_plan& plan, const std::map<std::string, std::string>& memory,
            time_point now) {
  if (memory.empty())
    return;
  clocks c{now, now_us()};
  auto deployment = "/" + plan.name;
  plan.recent_restarts = recall_intensity(memory, deployment, c);
  for (auto& svc : plan.services) {
    auto service = deployment + "/" + svc.name;
    svc.recent_restarts = recall_intensity(memory, service, c);
    svc.history = recall_child(memory, service, c, std::move(svc.history));
    for (auto& r : svc.replicas)
      if (auto h = recall_child(memory, service + "/" + r->spec.id, c, r->history, r->fingerprint);
          h != r->history)
        r = with_history(r, std::move(h));
  }
}

} // namespace nv
