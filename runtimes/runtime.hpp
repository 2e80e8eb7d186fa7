// The narrow interface between a container actor and whatever runs its container,
// in the spirit of containerd's runtime shim. Every call returns at once: work that
// can block happens off the CAF scheduler threads, and the answer arrives as a message
// to `reply_to` (one runtime_reply per call; exec answers with exec_result).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/actor.hpp>

#include "messages/caf/inspect.hpp"
#include "messages/container_spec.hpp"
#include "messages/runtime_messages.hpp"

namespace nv {

class runtime {
public:
  virtual ~runtime() = default;

  virtual std::string_view name() const = 0;
  // OCI os names: linux | windows | darwin.
  virtual bool runs_os(std::string_view os) const = 0;

  virtual void pull(const container_spec& spec, caf::actor reply_to) = 0;
  virtual void create(const container_spec& spec, caf::actor reply_to) = 0;
  // Exits of this container are sent to `reply_to` as container_exited.
  virtual void start(const std::string& id, caf::actor reply_to) = 0;
  // Sends `signal`, waits `grace`, then kills. Replies once the container has exited,
  // after its container_exited. A second stop while one waits out its grace does not wait for
  // the first one's: stop(id, 0, SIGKILL) kills at once (a hurried stop), and both are answered.
  virtual void stop(const std::string& id, duration grace, int signal, caf::actor reply_to) = 0;
  // Forgets the container; its exit, if still pending, is no longer reported.
  virtual void remove(const std::string& id, caf::actor reply_to) = 0;
  // Runs a command inside the container; answers with exec_result, which carries `exec_id`
  // (containerd's exec id) so that the caller can tell its execs' answers apart. The caller
  // chooses it and the runtime does not interpret it: unique among the caller's execs is enough.
  virtual void exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd,
                    duration timeout, caf::actor reply_to) = 0;

  // Non-blocking snapshots.
  virtual container_status state(const std::string& id) const = 0;
  virtual std::vector<std::string> logs(const std::string& id, std::size_t tail) const = 0;
  virtual std::optional<int> pid(const std::string& id) const = 0;
  // Where a create finds the container's image made for another platform (WrongPlatform), a
  // runtime that takes a fallback hands the create to it instead of failing it (design §11): the
  // composite tries another local runtime for the image's OS, else answers RouteToPeer. Without
  // one, the create fails with the WrongPlatform.
  using platform_fallback =
      std::function<void(const container_spec&, const WrongPlatform&, caf::actor reply_to)>;
  virtual void on_wrong_platform(platform_fallback fallback) { (void)fallback; }

  // True when a container with this key ran on from before this process (a daemon's keeper held
  // it) and a create of it would adopt it rather than start it anew.
  virtual bool adoptable(const std::string& id) const {
    (void)id;
    return false;
  }
};

} // namespace nv
