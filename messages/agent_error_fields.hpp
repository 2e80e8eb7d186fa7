// The field table of every AgentError variant: one place that names each field,
// shared by the JSON codec and the CAF inspect overloads.
#pragma once

#include <string_view>
#include <tuple>

#include "messages/agent_error.hpp"

namespace nv::fields {

template <class T, class M>
struct field {
  std::string_view name;
  M T::*member;
};
template <class T, class M>
field(std::string_view, M T::*) -> field<T, M>;

// kind name and field table for each alternative, found by overloading on a null pointer tag.
#define NV_DESCRIBE(T, ...)                                                                        \
  constexpr std::string_view kind(const T*) {                                                      \
    return #T;                                                                                     \
  }                                                                                                \
  constexpr auto table(const T*) {                                                                 \
    return std::tuple{__VA_ARGS__};                                                                \
  }

NV_DESCRIBE(NotFound, field{"container", &NotFound::container}, field{"reason", &NotFound::reason})
NV_DESCRIBE(PullFailed, field{"image", &PullFailed::image}, field{"reason", &PullFailed::reason})
NV_DESCRIBE(CreateFailed, field{"id", &CreateFailed::id}, field{"reason", &CreateFailed::reason})
NV_DESCRIBE(StartFailed, field{"id", &StartFailed::id}, field{"reason", &StartFailed::reason})
// Not `signal`: the JSON form (and the wire) stay {id, code}, which traces written before it
// hold; the trace carries the signal in the exit event instead.
NV_DESCRIBE(UnexpectedExit, field{"id", &UnexpectedExit::id}, field{"code", &UnexpectedExit::code})
NV_DESCRIBE(HealthCheckFailed, field{"id", &HealthCheckFailed::id},
            field{"reason", &HealthCheckFailed::reason})
NV_DESCRIBE(InitActionFailed, field{"id", &InitActionFailed::id},
            field{"reason", &InitActionFailed::reason})
NV_DESCRIBE(Timeout, field{"timeout", &Timeout::timeout})
NV_DESCRIBE(DependencyTimeout, field{"service", &DependencyTimeout::service},
            field{"dependency", &DependencyTimeout::dependency},
            field{"condition", &DependencyTimeout::condition},
            field{"timeout", &DependencyTimeout::timeout})
NV_DESCRIBE(InvalidSpec, field{"msg", &InvalidSpec::msg})
NV_DESCRIBE(Network, field{"msg", &Network::msg})
NV_DESCRIBE(Configuration, field{"msg", &Configuration::msg})
NV_DESCRIBE(Internal, field{"msg", &Internal::msg})
NV_DESCRIBE(Unsupported, field{"msg", &Unsupported::msg})
NV_DESCRIBE(WslGpuUnavailable, field{"reason", &WslGpuUnavailable::reason})
NV_DESCRIBE(GpuSharingUnavailable, field{"mode", &GpuSharingUnavailable::mode},
            field{"reason", &GpuSharingUnavailable::reason})
NV_DESCRIBE(RouteToPeer, field{"service", &RouteToPeer::service},
            field{"required_os", &RouteToPeer::required_os}, field{"reason", &RouteToPeer::reason})
NV_DESCRIBE(WrongPlatform, field{"runtime", &WrongPlatform::runtime},
            field{"expected", &WrongPlatform::expected}, field{"actual", &WrongPlatform::actual},
            field{"image", &WrongPlatform::image})
#undef NV_DESCRIBE

// Calls f(alternative_tag_pointer) for the alternative at `index`; used to construct
// an alternative from a runtime index (JSON kind, wire tag).
template <class F, std::size_t... Is>
bool with_alternative(std::size_t index, F&& f, std::index_sequence<Is...>) {
  return ((index == Is
               ? (f(static_cast<std::variant_alternative_t<Is, AgentError>*>(nullptr)), true)
               : false) ||
          ...);
}
template <class F>
bool with_alternative(std::size_t index, F&& f) {
  return with_alternative(index, std::forward<F>(f), std::make_index_sequence<agent_error_kinds>{});
}

} // namespace nv::fields
