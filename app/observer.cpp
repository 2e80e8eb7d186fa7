#include "app/observer.hpp"

#include <string>
#include <sys/eventfd.h>

#include <caf/all.hpp>

#include "actors/node_actor.hpp"
#include "app/console.hpp"
#include "messages/printable.hpp"

namespace nv {

namespace {

// An eventfd's counter only adds up, so this never blocks the scheduler thread that calls it.
void wake_main(const outcome* out) {
  eventfd_write(out->wake, 1);
}

} // namespace

std::string final_failure_text(const failure& f) {
  return "deployment failed (first failure at " + f.path + "): " + printable(describe(f));
}

caf::behavior observer(traced_actor* self, outcome* out, console* screen) {
  self->set_down_handler([out](caf::down_msg&) {
    {
      std::lock_guard<std::mutex> g{out->mu};
      out->node_down = true;
    }
    wake_main(out);
  });
  return {
      [self](caf::actor& node) { self->monitor(node); },
      [out, screen](state_change& c) {
        if (c.path == "/")
          return; // the node itself
        if (out->print_states)
          screen->print(c.path + ": " + std::string{to_string(c.to)});
        {
          std::lock_guard<std::mutex> g{out->mu};
          out->deployment = c.to;
        }
        wake_main(out);
      },
      [out, screen](failure& f) {
        if (auto* r = std::get_if<RouteToPeer>(&f.error)) {
          screen->print(f.path + " failed: " + printable(to_string(f.error)));
          screen->print("  " + route_remedy(*r));
          return;
        }
        screen->print(final_failure_text(f));
        {
          std::lock_guard<std::mutex> g{out->mu};
          out->failed = f;
        }
        wake_main(out);
      },
  };
}

} // namespace nv
