#include "node/why_answer.hpp"

#include "trace/trace_line.hpp"
#include "trace/trace_why.hpp"

namespace nv {

api_answer why_answer(const std::filesystem::path& trace_file, const std::string& actor) {
  if (actor.empty())
    return invalid_spec("actor: expected an actor's path (/web-stack/api) or its end (api-rep-1)");
  read_stats stats;
  auto w = explain_failure(trace_file.string(), actor, stats);
  switch (w.result) {
  case why_result::outcome::chain: {
    nlohmann::json chain = nlohmann::json::array();
    std::string line;
    for (const auto& r : w.chain) {
      line.clear();
      append_trace_line(line, r.seq, r.ts_us, r.node, r.ev);
      chain.push_back(nlohmann::json::parse(line));
    }
    nlohmann::json body{{"actor", w.actor}, {"chain", std::move(chain)}};
    if (!w.missing_cause.empty())
      body["missing_cause"] = w.missing_cause;
    return ok(std::move(body));
  }
  case why_result::outcome::never_failed:
    return not_found(w.actor, "it has not failed since the trace began");
  case why_result::outcome::no_match:
    return not_found(actor, "no actor in the trace matches (give a path, or its end such as a "
                            "replica id)");
  case why_result::outcome::ambiguous: {
    std::string msg = "actor: '" + actor + "' matches several actors; give more of the path:";
    for (std::size_t i = 0; i < w.candidates.size() && i < 10; ++i)
      msg += " " + w.candidates[i];
    return invalid_spec(msg);
  }
  case why_result::outcome::unreadable:
    break;
  }
  return internal_error("the trace " + trace_file.string() + ": " + w.error);
}

} // namespace nv
