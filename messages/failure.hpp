// `failure`: what a child sends its parent when it fails. The parent decides what happens.
#pragma once

#include <cstdint>
#include <string>

#include "messages/agent_error.hpp"

namespace nv {

struct failure {
  std::string path;     // the ORIGINAL failing actor's path; kept unchanged through escalation
  AgentError error;     // the ORIGINAL error; never wrapped
  uint32_t attempt = 0; // restarts of the failing child before this failure
  int64_t ts_us = 0;    // wall clock, microseconds since the epoch
  uint64_t cause = 0;   // trace seq of the event that recorded this failure (0: untraced)
  // The first cause, when this failure is a symptom of another actor's (a dependency timeout
  // of a dependency that itself failed): that actor's path and error. Empty path: none.
  // Kept apart from `error`, which stays the seed's error unchanged.
  std::string because_path;
  AgentError because_error;
};

int64_t now_us();

// The one line a person reads: the error's text, then the first cause when there is one,
// e.g. "Dependency timeout: 'api' waiting for 'db' (healthy) after 30s because db: Failed to
// start container 'db-rep-1': …". The cause is named by its service (a path's second part).
std::string describe(const failure& f);

// The service an actor path belongs to: "db" for "/web-stack/db/db-rep-1"; the path itself when
// it has no service part.
std::string service_of(const std::string& path);

} // namespace nv
