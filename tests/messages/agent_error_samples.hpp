// One AgentError of each of the 18 variants, with the seed's display text: what the codec, the
// CAF inspect and the wire tests all go through.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "messages/agent_error.hpp"

namespace nv::test {

struct sample {
  AgentError error;
  std::string text;
};

// One sample per variant, with the seed's display text.
inline std::vector<sample> samples() {
  using namespace std::chrono_literals;
  return {
      {NotFound{"api-rep-1", "no such container"},
       "Container 'api-rep-1' not found: no such container"},
      {PullFailed{"nginx:latest", "registry unreachable"},
       "Failed to pull image 'nginx:latest': registry unreachable"},
      {CreateFailed{"api-rep-2", "bundle missing"},
       "Failed to create container 'api-rep-2': bundle missing"},
      {StartFailed{"db-rep-1", "exec: no such file"},
       "Failed to start container 'db-rep-1': exec: no such file"},
      {UnexpectedExit{"web-rep-3", 137}, "Container 'web-rep-3' exited unexpectedly with code 137"},
      {UnexpectedExit{"web-rep-1", -1}, "Container 'web-rep-1' exited unexpectedly with code -1"},
      {HealthCheckFailed{"api-rep-1", "Timeout after 500ms"},
       "Health check failed for 'api-rep-1': Timeout after 500ms"},
      {InitActionFailed{"api-rep-1", "wait_tcp db:5432 refused"},
       "Init action failed for 'api-rep-1': wait_tcp db:5432 refused"},
      {Timeout{5s}, "Timeout after 5s"},
      {DependencyTimeout{"api", "db", "healthy", 300s},
       "Dependency timeout: 'api' waiting for 'db' (healthy) after 300s"},
      {InvalidSpec{"cycle a -> b -> a"}, "Invalid spec: cycle a -> b -> a"},
      {Network{"overlay down"}, "Network error: overlay down"},
      {Configuration{"no runtime"}, "Configuration error: no runtime"},
      {Internal{"oops"}, "Internal error: oops"},
      {Unsupported{"exec is not supported by this runtime"},
       "Operation not supported by this runtime: exec is not supported by this runtime"},
      {WslGpuUnavailable{"no driver"},
       "GPU requested but WSL2 GPU support not available on this host: no driver"},
      {GpuSharingUnavailable{"mps", "pipe dir missing"},
       "GPU sharing mode 'mps' is unavailable: pipe dir missing"},
      {RouteToPeer{"iis", "windows", "no local runtime serves windows"},
       "route-to-peer: service 'iis' requires OS 'windows' on another node: no local runtime "
       "serves "
       "windows"},
      {WrongPlatform{"hcs", "windows", "linux", "nginx:latest"},
       "wrong-platform: hcs runtime cannot handle image 'nginx:latest' (expected os=windows, got "
       "os=linux)"},
  };
}

} // namespace nv::test
