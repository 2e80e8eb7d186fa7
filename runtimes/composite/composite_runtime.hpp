// Chooses, per container, the local runtime that runs its OS (container_spec::os). When none
// of this node's runtimes runs it, create fails with RouteToPeer — never CreateFailed — so
// the node can place the service on a peer. The pseudo-image `process` (design §4) goes to the
// process runtime wherever it is one of the locals.
#pragma once

#include <mutex>
#include <unordered_map>
#include <vector>

#include "runtimes/runtime.hpp"

namespace nv {

class composite_runtime final : public runtime {
public:
  // `locals` are tried in order; they must outlive this runtime.
  explicit composite_runtime(std::vector<runtime*> locals);
  ~composite_runtime() override;

  composite_runtime(const composite_runtime&) = delete;
  composite_runtime& operator=(const composite_runtime&) = delete;

  std::string_view name() const override { return "composite"; }
  bool runs_os(std::string_view os) const override;

  void pull(const container_spec& spec, caf::actor reply_to) override;
  void create(const container_spec& spec, caf::actor reply_to) override;
  void start(const std::string& id, caf::actor reply_to) override;
  void stop(const std::string& id, duration grace, int signal, caf::actor reply_to) override;
  void remove(const std::string& id, caf::actor reply_to) override;
  void exec(const std::string& id, uint64_t exec_id, std::vector<std::string> cmd, duration timeout,
            caf::actor reply_to) override;
  container_status state(const std::string& id) const override;
  std::vector<std::string> logs(const std::string& id, std::size_t tail) const override;
  std::optional<int> pid(const std::string& id) const override;
  bool adoptable(const std::string& id) const override;

private:
  runtime* select(std::string_view os) const;
  runtime* select(const container_spec& spec) const;
  runtime* owner(const std::string& id) const;
  void place_elsewhere(const container_spec& spec, const WrongPlatform& wrong, caf::actor reply_to);

  std::vector<runtime*> locals_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, runtime*> dispatch_; // container id -> its runtime
};

} // namespace nv
