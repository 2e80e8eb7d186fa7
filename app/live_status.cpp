#include "app/live_status.hpp"

#include <memory>

#include <caf/all.hpp>

#include "app/console.hpp"
#include "app/status_table.hpp"
#include "messages/caf/atoms.hpp"
#include "supervisor/supervisor.hpp"

namespace nv {

namespace {

using tick_atom = caf::atom_constant<caf::atom("tick")>;
// Twice a second: UPTIME counts seconds; the console draws only frames that changed.
constexpr auto refresh = std::chrono::milliseconds{500};

// One walk of the tree: samples fill in as the answers arrive; drawn when the last one is in.
struct walk {
  std::vector<service_sample> samples;
  int pending = 0;
};

struct status_state {
  status_table table;
  console* screen = nullptr;
  bool done = false;
};

void draw(status_state& st) {
  st.screen->show_table(render_status(st.table.rows(), now_us()));
}

void finish_walk(status_state& st, walk& w) {
  if (--w.pending > 0 || st.done)
    return;
  st.table.update(w.samples);
  draw(st);
}

} // namespace

caf::behavior live_status_actor(caf::event_based_actor* self, caf::actor node, console* screen,
                                std::map<std::string, std::vector<dependency>> depends) {
  auto st = std::make_shared<status_state>();
  st->table = status_table{std::move(depends)};
  st->screen = screen;
  self->monitor(node);
  self->set_down_handler([self, st](caf::down_msg&) {
    st->done = true;
    st->table.node_down();
    draw(*st);
    self->quit();
  });
  self->send(self, tick_atom::value);
  return {
      [=](tick_atom) {
        self->delayed_send(self, refresh, tick_atom::value);
        auto w = std::make_shared<walk>();
        w->pending = 1;
        // An error (a supervisor that just exited, one too busy to answer in time) leaves its
        // part out of this walk; the table keeps what it said last.
        self->request(node, refresh, which_children_atom::value)
            .then(
                [=](std::vector<child_info>& deployments) {
                  for (auto& d : deployments) {
                    if (!d.handle)
                      continue;
                    ++w->pending;
                    self->request(d.handle, refresh, which_children_atom::value)
                        .then(
                            [=](std::vector<child_info>& services) {
                              for (auto& s : services) {
                                auto index = w->samples.size();
                                // Not running: it has no children to ask about.
                                w->samples.push_back(service_sample{d.id, s, {}, !s.handle});
                                if (!s.handle)
                                  continue;
                                ++w->pending;
                                self->request(s.handle, refresh, which_children_atom::value)
                                    .then(
                                        [=](std::vector<child_info>& children) {
                                          w->samples[index].children = std::move(children);
                                          w->samples[index].children_known = true;
                                          finish_walk(*st, *w);
                                        },
                                        [=](caf::error&) { finish_walk(*st, *w); });
                              }
                              finish_walk(*st, *w);
                            },
                            [=](caf::error&) { finish_walk(*st, *w); });
                  }
                  finish_walk(*st, *w);
                },
                [=](caf::error&) { finish_walk(*st, *w); });
      },
  };
}

} // namespace nv
