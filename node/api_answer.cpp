#include "node/api_answer.hpp"

namespace nv {

api_answer ok(nlohmann::json body, int status) {
  return api_answer{status, std::move(body)};
}

api_answer error_answer(int status, const AgentError& err) {
  nlohmann::json e = err;
  return api_answer{status, nlohmann::json{{"error", std::move(e)}}};
}

int status_of(const AgentError& err) {
  if (std::holds_alternative<InvalidSpec>(err))
    return 400;
  if (std::holds_alternative<NotFound>(err))
    return 404;
  if (is_permanent(err))
    return 422;
  return 500;
}

api_answer not_found(const std::string& what, const std::string& reason) {
  return error_answer(404, NotFound{what, reason});
}

api_answer invalid_spec(const std::string& msg, int status) {
  return error_answer(status, InvalidSpec{msg});
}

api_answer internal_error(const std::string& msg, int status) {
  return error_answer(status, Internal{msg});
}

} // namespace nv
