#include "spec/runnable.hpp"

namespace nv::spec {

namespace {

const node nowhere; // the model keeps no positions; the field path says where

// execve passes C strings: a NUL cuts the word short, and the kernel refuses a long one.
void check_exec_string(reader& r, const std::string& path, std::string_view text,
                       std::size_t terminated_size, std::string_view what) {
  if (text.find('\0') != std::string_view::npos)
    r.error(nowhere, path,
            std::string{what} + " contains a NUL byte, which no process can be given");
  else if (terminated_size > max_arg_strlen)
    r.error(nowhere, path,
            std::string{what} + " is " + std::to_string(terminated_size - 1) +
                " bytes; the kernel takes at most " + std::to_string(max_arg_strlen - 1) +
                " (MAX_ARG_STRLEN, 128 KiB)");
}

void check_words(reader& r, const std::string& path, const std::vector<std::string>& words) {
  for (std::size_t i = 0; i < words.size(); ++i)
    check_exec_string(r, item_path(path, i), words[i], words[i].size() + 1, "the argument");
}

} // namespace

void check_runnable(const deployment_spec& spec, reader& r) {
  for (const auto& s : spec.services) {
    auto where = child_path("services", s.name);
    if (s.image.name == process_image && s.command.entrypoint.empty() && s.command.args.empty())
      r.error(nowhere, child_path(where, "command"),
              "required for image 'process', which runs the command as a plain process; give "
              "command.entrypoint (and args), e.g. entrypoint: [\"/usr/bin/env\"]");
    check_words(r, child_path(where, "command.entrypoint"), s.command.entrypoint);
    check_words(r, child_path(where, "command.args"), s.command.args);
    for (const auto& [name, value] : s.env)
      if (!env_reference(value))
        check_exec_string(r, child_path(child_path(where, "env"), name), value,
                          name.size() + 1 + value.size() + 1, "NAME=value");
    if (s.replicas > max_replicas_per_service)
      r.error(nowhere, child_path(where, "scale"),
              std::to_string(s.replicas) +
                  " replicas is more than nodevisor starts for one "
                  "service (at most " +
                  std::to_string(max_replicas_per_service) +
                  "); split the service, or lower the count");
  }
}

std::vector<problem> unset_env_references(const deployment_spec& spec, const std::string& file,
                                          severity level, const env_lookup& lookup) {
  std::vector<problem> out;
  for (const auto& s : spec.services)
    for (const auto& [name, value] : s.env)
      if (auto var = env_reference(value); var && !lookup(std::string{*var}))
        out.push_back({file, "services." + s.name + ".env." + name,
                       "$E:" + std::string{*var} +
                           " names a variable that is not set in nodevisor's environment; " +
                           (level == severity::error ? "set it, or change the spec"
                                                     : "`run` refuses to start until it is set"),
                       level});
  return out;
}

} // namespace nv::spec
