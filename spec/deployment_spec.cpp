#include "spec/deployment_spec.hpp"

namespace nv::spec {

restart_type restart_type_of(const service_spec& service) {
  if (service.restart_policy) {
    switch (*service.restart_policy) {
    case restart_kind::always:
    case restart_kind::unless_stopped:
      return restart_type::permanent;
    case restart_kind::on_failure:
      return restart_type::transient;
    case restart_kind::no:
      return restart_type::temporary;
    }
  }
  return service.rtype == service_kind::job ? restart_type::transient : restart_type::permanent;
}

} // namespace nv::spec
