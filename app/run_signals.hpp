// How `nodevisor run` treats signals while it supervises children: which ones stop it, which
// ones it shrugs off, and the descriptor the main thread reads them from (a signalfd, so that
// one poll wakes for a signal and for the node's news alike, with no tick).
#pragma once

#include "posix/unique_fd.hpp"

namespace nv {

enum class signal_meaning {
  stop,   // stop everything gracefully; the same signal again skips the remaining grace
  ignore, // logged at info and otherwise ignored
};

// Must run before any thread starts (each thread inherits the mask of the one that makes it):
// blocks every signal `run` takes through the returned signalfd, and ignores the few whose
// only effect would be an error that is handled where it happens (SIGPIPE, SIGXFSZ). A child
// gets none of this: spawn_child resets its mask and every disposition before exec.
// Throws std::system_error when the signalfd cannot be made.
unique_fd take_run_signals();

// What a signal read from that descriptor means for `run`.
signal_meaning meaning_of(int signal);

} // namespace nv
