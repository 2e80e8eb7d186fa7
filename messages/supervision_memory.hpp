// Where the supervisors write down what must outlive the daemon: restart counts, the restarts
// inside each window, a restart that waits out its backoff. A daemon that dies, crashes or hands
// over is then succeeded by one that carries on where it stopped, rather than one that forgets a
// crash loop. The node's keeper holds it (runtimes/process), as a container runtime holds
// Kubernetes' restartCount for the kubelet; the records themselves are actors/restart_memory's.
#pragma once

#include <map>
#include <string>

namespace nv {

class supervision_memory {
public:
  virtual ~supervision_memory() = default;
  // Called from actor handlers: must not block. Empty text forgets the key.
  virtual void remember(const std::string& key, std::string text) = 0;
  // Forgets every key that starts with `prefix`.
  virtual void forget(const std::string& prefix) = 0;
  // What the daemon before this one wrote down, as it was when this one started.
  virtual const std::map<std::string, std::string>& recalled() const = 0;
};

} // namespace nv
