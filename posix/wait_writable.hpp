// Waiting, on a writer thread of its own, until a descriptor that stopped taking output (a
// paused pager, a full pipe) takes more, or until the writer is told to give up.
#pragma once

#include <chrono>
#include <functional>

namespace nv {

// How long an exit waits for a reader to take what is still queued for it (the console's
// output, the log's lines): long enough for a slow terminal, short enough that a reader that
// never reads does not hold up the exit.
inline constexpr std::chrono::seconds exit_drain_grace{2};

enum class writable_wait { writable, hung_up, gave_up };

// Polls `fd` for POLLOUT. `deadline()` is read on each round: the time at which to give up, or
// the epoch while there is none; until there is one, `wake` (an eventfd the owner writes when
// it sets a deadline) interrupts the wait so that the deadline is taken. `hung_up`: POLLERR,
// POLLHUP or POLLNVAL (a pipe whose reader left).
writable_wait wait_writable(int fd, int wake,
                            const std::function<std::chrono::steady_clock::time_point()>& deadline);

} // namespace nv
