// `nodevisor trace why ACTOR`: the chain of events behind an actor's last failure, from the
// first cause to the last consequence (the restart or the escalation it led to).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "trace/trace_reader.hpp"

namespace nv {

struct why_result {
  enum class outcome {
    chain,        // found: `chain` holds it
    never_failed, // the actor is in the trace but never failed
    no_match,     // no actor matches the name
    ambiguous,    // several actors match; see `candidates`
    unreadable,   // the file could not be read; see `error`
  };
  outcome result = outcome::no_match;
  std::string actor;                   // the path the name resolved to
  std::vector<std::string> candidates; // for ambiguous: the first few matches
  std::vector<trace_record> chain;     // in seq order
  std::string missing_cause;           // set when the walk back stopped at a cause not in the file
  int64_t origin_us = 0;               // the file's first event: times print relative to it
  std::string error;
};

// Resolves `name` to an actor: its exact path, else the one path that ends with it at a
// component boundary ("api-rep-1", "api/api-rep-1"), else the one path that starts with it
// ("/web-stack/migrate/m").
std::string resolve_actor(const std::vector<std::string>& paths, const std::string& name,
                          std::vector<std::string>& candidates);

// Reads `path` and explains the last failure (a `failure`, or an `exit` with reason failure) of
// the actor `name` names. Malformed lines go to `stats`.
why_result explain_failure(const std::string& path, const std::string& name, read_stats& stats);

// One line per step: relative time, seq, actor, event kind and what happened.
void print_why(std::FILE* out, const why_result& why);

} // namespace nv
