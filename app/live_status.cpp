#include "app/live_status.hpp"

#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/all.hpp>

#include "messages/caf/atoms.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
constexpr auto refresh = std::chrono::milliseconds{500};

struct service_row {
  std::string deployment, service;
  lifecycle state = lifecycle::pending;
  uint32_t service_restarts = 0;
  uint32_t replicas = 0, running = 0, healthy = 0, replica_restarts = 0;
};

// One refresh: rows fill in as the answers arrive; drawn when the last one is in.
struct snapshot {
  std::vector<service_row> rows;
  int pending = 0;
};

bool is_replica(const child_info& c) {
  return c.id.find("wait:") != 0 && c.id.find("init:") != 0;
}

void draw(const snapshot& s, int& lines_drawn) {
  std::string out;
  if (lines_drawn > 0)
    out += "\x1b[" + std::to_string(lines_drawn) + "A\x1b[J"; // back to the table's top
  char line[256];
  std::snprintf(line, sizeof line, "%-24s %8s %8s %8s %9s  %s\n", "SERVICE", "REPLICAS", "RUNNING",
                "HEALTHY", "RESTARTS", "STATE");
  out += line;
  for (auto& r : s.rows) {
    std::snprintf(line, sizeof line, "%-24s %8u %8u %8u %9u  %s\n",
                  (r.deployment + "/" + r.service).c_str(), r.replicas, r.running, r.healthy,
                  r.service_restarts + r.replica_restarts, std::string{to_string(r.state)}.c_str());
    out += line;
  }
  std::fputs(out.c_str(), stdout);
  std::fflush(stdout);
  lines_drawn = static_cast<int>(s.rows.size()) + 1;
}

} // namespace

caf::behavior live_status_actor(caf::event_based_actor* self, caf::actor node) {
  auto lines_drawn = std::make_shared<int>(0);
  self->send(self, tick_atom::value);
  auto on_error = [](caf::error&) {}; // a supervisor that just exited: the next tick redraws
  return {
      [=](tick_atom) {
        self->delayed_send(self, refresh, tick_atom::value);
        auto snap = std::make_shared<snapshot>();
        self->request(node, refresh, which_children_atom::value)
            .then(
                [=](std::vector<child_info>& deployments) {
                  for (auto& d : deployments) {
                    if (!d.handle)
                      continue;
                    ++snap->pending;
                    self->request(d.handle, refresh, which_children_atom::value)
                        .then(
                            [=](std::vector<child_info>& services) {
                              for (auto& s : services) {
                                auto index = snap->rows.size();
                                snap->rows.push_back(service_row{d.id, s.id, s.state, s.restarts});
                                if (!s.handle)
                                  continue;
                                ++snap->pending;
                                self->request(s.handle, refresh, which_children_atom::value)
                                    .then(
                                        [=](std::vector<child_info>& children) {
                                          auto& row = snap->rows[index];
                                          for (auto& c : children) {
                                            if (!is_replica(c))
                                              continue;
                                            ++row.replicas;
                                            row.replica_restarts += c.restarts;
                                            if (c.state == lifecycle::running ||
                                                c.state == lifecycle::healthy ||
                                                c.state == lifecycle::unhealthy)
                                              ++row.running;
                                            if (c.state == lifecycle::healthy)
                                              ++row.healthy;
                                          }
                                          if (--snap->pending == 0)
                                            draw(*snap, *lines_drawn);
                                        },
                                        [=](caf::error&) {
                                          if (--snap->pending == 0)
                                            draw(*snap, *lines_drawn);
                                        });
                              }
                              if (--snap->pending == 0)
                                draw(*snap, *lines_drawn);
                            },
                            [=](caf::error&) {
                              if (--snap->pending == 0)
                                draw(*snap, *lines_drawn);
                            });
                  }
                },
                on_error);
      },
  };
}

} // namespace nv
