// What each kind of check gives the runner: a check started on the reactor, which reports its
// outcome once through a callback and is stopped by destroying it.
#pragma once

#include <functional>

#include "messages/check.hpp"

namespace nv {

// Called at most once, on the reactor thread, possibly before the function that started the
// check has returned. The check does nothing more afterwards, but the runner destroys it only
// later: never from inside its own callback.
using check_finished = std::function<void(check_result)>;

class running_check {
public:
  running_check() = default;
  running_check(const running_check&) = delete;
  running_check& operator=(const running_check&) = delete;
  // Stops what is still under way (a connection, a transfer, a process group) without a word.
  virtual ~running_check() = default;
};

} // namespace nv
