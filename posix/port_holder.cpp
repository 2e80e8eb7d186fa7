#include "posix/port_holder.hpp"

#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>
#include <vector>

namespace nv {

namespace {

// The inodes of the sockets in /proc/net/{tcp,tcp6,udp,udp6} bound to `port`: listening ones for
// tcp (state 0A), any for udp.
std::vector<std::string> socket_inodes(uint16_t port, bool udp) {
  std::vector<std::string> out;
  const std::vector<std::string> tables =
      udp ? std::vector<std::string>{"udp", "udp6"} : std::vector<std::string>{"tcp", "tcp6"};
  for (const auto& table : tables) {
    std::ifstream in{"/proc/net/" + table};
    std::string line;
    std::getline(in, line); // the header
    while (std::getline(in, line)) {
      std::istringstream fields{line};
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout, inode;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >>
          timeout >> inode;
      auto colon = local.rfind(':');
      if (colon == std::string::npos)
        continue;
      auto local_port = std::stoul(local.substr(colon + 1), nullptr, 16);
      if (local_port == port && (udp || state == "0A"))
        out.push_back(inode);
    }
  }
  return out;
}

} // namespace

std::optional<std::string> port_holder(uint16_t port, bool udp) {
  auto inodes = socket_inodes(port, udp);
  if (inodes.empty())
    return std::nullopt;
  namespace fs = std::filesystem;
  std::error_code ec;
  for (const auto& proc : fs::directory_iterator{"/proc", ec}) {
    auto pid = proc.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    std::error_code fd_ec;
    for (const auto& fd : fs::directory_iterator{proc.path() / "fd", fd_ec}) {
      char target[64];
      auto n = ::readlink(fd.path().c_str(), target, sizeof target - 1);
      if (n <= 0)
        continue;
      std::string link{target, static_cast<std::size_t>(n)};
      for (const auto& inode : inodes)
        if (link == "socket:[" + inode + "]") {
          std::string comm;
          std::ifstream{proc.path() / "comm"} >> comm;
          return "pid " + pid + " (" + comm + ")";
        }
    }
  }
  return "a process this node cannot see";
}

std::optional<Network> held_endpoint(const container_spec& spec) {
  for (const auto& served : spec.ports)
    if (auto holder = port_holder(served.port, served.udp)) {
      auto port = std::to_string(served.port) + (served.udp ? "/udp" : "/tcp");
      return Network{"port " + port + " of '" + spec.id +
                     "' (its service's endpoints) is already in use by " + *holder +
                     " on this host: stop that, or change the endpoint's port"};
    }
  return std::nullopt;
}

} // namespace nv
