// What a control-API call answers, before HTTP: a status and a JSON body. Errors are
// {"error": <AgentError JSON>} with the status design.md §8's table gives their condition.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "messages/agent_error.hpp"

namespace nv {

struct api_answer {
  int status = 200;
  nlohmann::json body; // null: no body (204)
};

api_answer ok(nlohmann::json body, int status = 200);
api_answer error_answer(int status, const AgentError& err);

// The status for an error raised by the tree or a runtime: 422 for what restarting cannot help
// (Configuration, Unsupported, WrongPlatform, the GPU kinds), 400 for InvalidSpec, 404 for
// NotFound, else 500.
int status_of(const AgentError& err);

api_answer not_found(const std::string& what, const std::string& reason);
api_answer invalid_spec(const std::string& msg, int status = 400);
api_answer internal_error(const std::string& msg, int status = 500);

} // namespace nv
