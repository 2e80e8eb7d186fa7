#include "messages/agent_error.hpp"

#include <nlohmann/json.hpp>

#include "messages/agent_error_fields.hpp"

namespace nv {

namespace {

// Rust's fmt_decimal: integer part, then the fraction without trailing zeros.
std::string decimal(uint64_t integer, uint64_t fraction, uint64_t fraction_digits,
                    std::string_view unit) {
  std::string out = std::to_string(integer);
  if (fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, fraction_digits - digits.size(), '0');
    while (!digits.empty() && digits.back() == '0')
      digits.pop_back();
    out += '.';
    out += digits;
  }
  out += unit;
  return out;
}

} // namespace

std::string format_duration(duration d) {
  // Rust's Duration is unsigned; a negative value cannot come from a spec, print it as zero.
  uint64_t ns = d.count() < 0 ? 0 : static_cast<uint64_t>(d.count());
  uint64_t secs = ns / 1'000'000'000;
  uint64_t sub = ns % 1'000'000'000;
  if (secs > 0)
    return decimal(secs, sub, 9, "s");
  if (sub >= 1'000'000)
    return decimal(sub / 1'000'000, sub % 1'000'000, 6, "ms");
  if (sub >= 1'000)
    return decimal(sub / 1'000, sub % 1'000, 3, "\u00b5s");
  return std::to_string(sub) + "ns";
}

namespace {

struct display {
  std::string operator()(const NotFound& e) const {
    return "Container '" + e.container + "' not found: " + e.reason;
  }
  std::string operator()(const PullFailed& e) const {
    return "Failed to pull image '" + e.image + "': " + e.reason;
  }
  std::string operator()(const CreateFailed& e) const {
    return "Failed to create container '" + e.id + "': " + e.reason;
  }
  std::string operator()(const StartFailed& e) const {
    return "Failed to start container '" + e.id + "': " + e.reason;
  }
  std::string operator()(const UnexpectedExit& e) const {
    return "Container '" + e.id + "' exited unexpectedly with code " + std::to_string(e.code);
  }
  std::string operator()(const HealthCheckFailed& e) const {
    return "Health check failed for '" + e.id + "': " + e.reason;
  }
  std::string operator()(const InitActionFailed& e) const {
    return "Init action failed for '" + e.id + "': " + e.reason;
  }
  std::string operator()(const Timeout& e) const {
    return "Timeout after " + format_duration(e.timeout);
  }
  std::string operator()(const DependencyTimeout& e) const {
    return "Dependency timeout: '" + e.service + "' waiting for '" + e.dependency + "' (" +
           e.condition + ") after " + format_duration(e.timeout);
  }
  std::string operator()(const InvalidSpec& e) const { return "Invalid spec: " + e.msg; }
  std::string operator()(const Network& e) const { return "Network error: " + e.msg; }
  std::string operator()(const Configuration& e) const { return "Configuration error: " + e.msg; }
  std::string operator()(const Internal& e) const { return "Internal error: " + e.msg; }
  std::string operator()(const Unsupported& e) const {
    return "Operation not supported by this runtime: " + e.msg;
  }
  std::string operator()(const WslGpuUnavailable& e) const {
    return "GPU requested but WSL2 GPU support not available on this host: " + e.reason;
  }
  std::string operator()(const GpuSharingUnavailable& e) const {
    return "GPU sharing mode '" + e.mode + "' is unavailable: " + e.reason;
  }
  std::string operator()(const RouteToPeer& e) const {
    return "route-to-peer: service '" + e.service + "' requires OS '" + e.required_os +
           "' on another node: " + e.reason;
  }
  std::string operator()(const WrongPlatform& e) const {
    return "wrong-platform: " + e.runtime + " runtime cannot handle image '" + e.image +
           "' (expected os=" + e.expected + ", got os=" + e.actual + ")";
  }
};

template <class M>
void field_to_json(nlohmann::json& j, std::string_view name, const M& value) {
  if constexpr (std::is_same_v<M, duration>)
    j[std::string(name) + "_ns"] = value.count();
  else
    j[std::string(name)] = value;
}

template <class M>
void field_from_json(const nlohmann::json& j, std::string_view name, M& value) {
  if constexpr (std::is_same_v<M, duration>)
    value = duration{j.at(std::string(name) + "_ns").get<int64_t>()};
  else
    j.at(std::string(name)).get_to(value);
}

} // namespace

std::string to_string(const AgentError& err) {
  return std::visit(display{}, err);
}

std::string_view kind_name(const AgentError& err) {
  return std::visit([](const auto& alt) { return fields::kind(&alt); }, err);
}

bool is_permanent(const AgentError& err) {
  return std::holds_alternative<InvalidSpec>(err) || std::holds_alternative<Configuration>(err) ||
         std::holds_alternative<Unsupported>(err) ||
         std::holds_alternative<WslGpuUnavailable>(err) ||
         std::holds_alternative<GpuSharingUnavailable>(err) ||
         std::holds_alternative<WrongPlatform>(err);
}

bool is_reschedule_signal(const AgentError& err) {
  return std::holds_alternative<RouteToPeer>(err);
}

void to_json(nlohmann::json& j, const AgentError& err) {
  j = nlohmann::json::object();
  j["kind"] = kind_name(err);
  std::visit(
      [&](const auto& alt) {
        std::apply([&](const auto&... f) { (field_to_json(j, f.name, alt.*(f.member)), ...); },
                   fields::table(&alt));
      },
      err);
  j["message"] = to_string(err);
}

void from_json(const nlohmann::json& j, AgentError& err) {
  const auto kind = j.at("kind").get<std::string>();
  bool found = false;
  for (std::size_t i = 0; i < agent_error_kinds && !found; ++i) {
    fields::with_alternative(i, [&](auto* tag) {
      using T = std::remove_pointer_t<decltype(tag)>;
      if (fields::kind(tag) != kind)
        return;
      T alt;
      std::apply([&](const auto&... f) { (field_from_json(j, f.name, alt.*(f.member)), ...); },
                 fields::table(tag));
      err = std::move(alt);
      found = true;
    });
  }
  if (!found)
    throw nlohmann::json::other_error::create(501, "unknown AgentError kind '" + kind + "'", &j);
}

} // namespace nv
