#include "keeper/protocol.hpp"

#include <sys/socket.h>

#include <nlohmann/json.hpp>

namespace nv::keeper {

NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(log_target, name, max_size, max_files)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(launch, pid_file, start, start_failure)
NLOHMANN_JSON_SERIALIZE_ENUM(spawn_stage,
                             {{spawn_stage::start, "start"}, {spawn_stage::create, "create"}})
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(spawn, id, gen, argv, deployment, service, replica,
                                                env, workdir, user, log, forward, fingerprint,
                                                launched_by)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(signal, id, gen, signo, grace_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(kill, id, gen)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(exec, id, gen, exec_id, argv, timeout_ms)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(note, key, text)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(forget, prefix)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(held, id, gen, pid, start_time, fingerprint, exited,
                                                code, signo, tail)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(hello, version, keeper_pid, cgroups, containers,
                                                notes)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(spawned, id, gen, pid, start_time)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(spawn_failed, id, gen, error, stage)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(exited, id, gen, code, signo, tail)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(exec_done, id, exec_id, code, output, timed_out)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(output, id, gen, bytes)

void to_json(nlohmann::json&, const shutdown&) {}
void from_json(const nlohmann::json&, shutdown&) {}

namespace {

// The op of each alternative, in the variant's order.
constexpr const char* request_ops[] = {"spawn",    "signal", "kill",  "exec",
                                       "shutdown", "note",   "forget"};
constexpr const char* event_ops[] = {"hello",        "held",   "note",      "spawned",
                                     "spawn_failed", "exited", "exec_done", "output"};
static_assert(std::size(request_ops) == std::variant_size_v<request>);
static_assert(std::size(event_ops) == std::variant_size_v<event>);

template <class Variant, std::size_t N>
std::string encode_as(const Variant& v, const char* const (&ops)[N]) {
  nlohmann::json j;
  std::visit([&j](const auto& alt) { j = alt; }, v);
  j["op"] = ops[v.index()];
  // Output and log lines are whatever a program wrote: bytes that are not UTF-8 become U+FFFD
  // rather than an exception.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

template <class Variant, std::size_t I = 0>
std::optional<Variant> alternative(std::size_t index, const nlohmann::json& j) {
  if constexpr (I == std::variant_size_v<Variant>) {
    return std::nullopt;
  } else {
    if (index == I)
      return Variant{std::in_place_index<I>, j.get<std::variant_alternative_t<I, Variant>>()};
    return alternative<Variant, I + 1>(index, j);
  }
}

template <class Variant, std::size_t N>
std::optional<Variant> decode_as(std::string_view text, const char* const (&ops)[N],
                                 std::string& error) {
  try {
    auto j = nlohmann::json::parse(text);
    auto op = j.at("op").get<std::string>();
    for (std::size_t i = 0; i < N; ++i)
      if (op == ops[i])
        return alternative<Variant>(i, j);
    error = "unknown op '" + op + "'";
  } catch (const nlohmann::json::exception& e) {
    error = e.what();
  }
  return std::nullopt;
}

} // namespace

std::string encode(const request& r) {
  return encode_as(r, request_ops);
}

std::string encode(const event& e) {
  return encode_as(e, event_ops);
}

std::optional<request> decode_request(std::string_view text, std::string& error) {
  return decode_as<request>(text, request_ops, error);
}

std::optional<event> decode_event(std::string_view text, std::string& error) {
  return decode_as<event>(text, event_ops, error);
}

void size_socket_buffers(int fd) {
  int size = static_cast<int>(max_message * 4);
  for (auto [forced, plain] : {std::pair{SO_SNDBUFFORCE, SO_SNDBUF}, {SO_RCVBUFFORCE, SO_RCVBUF}})
    if (::setsockopt(fd, SOL_SOCKET, forced, &size, sizeof size) != 0)
      ::setsockopt(fd, SOL_SOCKET, plain, &size, sizeof size);
}

} // namespace nv::keeper
