// The tcp check: can a connection to host:port be opened?
#pragma once

#include <memory>

#include "actors/checks/reactor.hpp"
#include "actors/checks/running_check.hpp"
#include "messages/check.hpp"

namespace nv {

// Tries each address of `check.host` with a non-blocking connect on `r` until one connects.
// A literal address needs no lookup; a name is resolved on a thread of its own, as curl's
// threaded resolver does, since getaddrinfo can be neither bounded nor cancelled. Fails with e.g.
// "connection refused to 127.0.0.1:5432" or "cannot resolve 'db': Name or service not known".
std::unique_ptr<running_check> tcp_connect(reactor& r, const tcp_check& check, check_finished done);

} // namespace nv
