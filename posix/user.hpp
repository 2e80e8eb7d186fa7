// Who a container's processes run as: the spec's `user` (docker's forms) resolved against the
// user and group databases.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <vector>

namespace nv {

// A user and its groups, to switch to in a child before it execs.
struct child_identity {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups; // supplementary, as initgroups would set them
};

struct resolved_user {
  std::optional<child_identity> switch_to; // none: the child runs as nodevisor does
  std::string home;                        // the user's home directory; "/" when it has none
  std::string error; // non-empty: the child must not run, e.g. "user 'x': no such user"
};

// `user` is "", "name", "uid", "name:group" or "uid:gid" (docker's --user). Empty: nodevisor's
// own user. Switching needs root; a user that is nodevisor's own needs no switch. A uid without
// a passwd entry needs its group given too (docker would run it in group root). Looks the names
// up through NSS, which may take a while: not on a thread that must not wait.
resolved_user resolve_user(std::string_view user);

// A uid or gid written as a number ("1000"); nullopt for a name or anything else.
std::optional<uint32_t> as_id(std::string_view text);

} // namespace nv
