#include "posix/user.hpp"

#include <cerrno>
#include <charconv>
#include <cstring>
#include <grp.h>
#include <pwd.h>
#include <unistd.h>

namespace nv {

std::optional<uint32_t> as_id(std::string_view text) {
  uint32_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || text.empty())
    return std::nullopt;
  return value;
}

namespace {

// getpwnam_r and friends want a buffer whose right size only a retry finds.
struct passwd_entry {
  passwd pw{};
  std::vector<char> buffer = std::vector<char>(4096);
  bool found = false;
  int err = 0;
};

template <class Lookup>
passwd_entry lookup_passwd(Lookup lookup) {
  passwd_entry e;
  for (;;) {
    passwd* result = nullptr;
    e.err = lookup(&e.pw, e.buffer.data(), e.buffer.size(), &result);
    if (e.err == ERANGE && e.buffer.size() < (1u << 20)) {
      e.buffer.resize(e.buffer.size() * 4);
      continue;
    }
    e.found = result != nullptr;
    return e;
  }
}

std::optional<gid_t> find_group(std::string_view name, std::string& error) {
  if (auto id = as_id(name))
    return static_cast<gid_t>(*id);
  std::string n{name};
  std::vector<char> buffer(4096);
  for (;;) {
    group gr{};
    group* result = nullptr;
    int err = ::getgrnam_r(n.c_str(), &gr, buffer.data(), buffer.size(), &result);
    if (err == ERANGE && buffer.size() < (1u << 20)) {
      buffer.resize(buffer.size() * 4);
      continue;
    }
    if (result != nullptr)
      return result->gr_gid;
    error = "no such group '" + n + "'" + (err != 0 ? std::string{": "} + std::strerror(err) : "");
    return std::nullopt;
  }
}

std::vector<gid_t> groups_of(const char* name, gid_t gid) {
  int count = 32;
  std::vector<gid_t> groups(static_cast<std::size_t>(count));
  while (::getgrouplist(name, gid, groups.data(), &count) < 0)
    groups.resize(static_cast<std::size_t>(count));
  groups.resize(static_cast<std::size_t>(count));
  return groups;
}

} // namespace

resolved_user resolve_user(std::string_view user) {
  resolved_user out;
  out.home = "/";
  if (user.empty()) {
    auto me = lookup_passwd([](passwd* pw, char* buf, std::size_t size, passwd** result) {
      return ::getpwuid_r(::geteuid(), pw, buf, size, result);
    });
    if (me.found && me.pw.pw_dir != nullptr && *me.pw.pw_dir != '\0')
      out.home = me.pw.pw_dir;
    return out;
  }
  auto colon = user.find(':');
  auto user_part = user.substr(0, colon);
  auto group_part = colon == std::string_view::npos ? std::string_view{} : user.substr(colon + 1);
  auto fail = [&](const std::string& why) {
    out.error = "user '" + std::string{user} + "': " + why;
    return out;
  };

  std::string name{user_part};
  auto uid = as_id(user_part);
  auto entry = lookup_passwd([&](passwd* pw, char* buf, std::size_t size, passwd** result) {
    return uid ? ::getpwuid_r(static_cast<uid_t>(*uid), pw, buf, size, result)
               : ::getpwnam_r(name.c_str(), pw, buf, size, result);
  });
  if (!entry.found && !uid)
    return fail("no such user" +
                (entry.err != 0 ? std::string{" ("} + std::strerror(entry.err) + ")" : ""));

  child_identity who;
  who.uid = entry.found ? entry.pw.pw_uid : static_cast<uid_t>(*uid);
  if (!group_part.empty()) {
    std::string why;
    auto gid = find_group(group_part, why);
    if (!gid)
      return fail(why);
    who.gid = *gid;
  } else if (entry.found) {
    who.gid = entry.pw.pw_gid;
  } else {
    return fail("uid " + std::string{user_part} +
                " has no passwd entry, so its group is unknown: give it as \"" +
                std::string{user_part} + ":GID\"");
  }
  if (entry.found) {
    who.groups = groups_of(entry.pw.pw_name, who.gid);
    if (entry.pw.pw_dir != nullptr && *entry.pw.pw_dir != '\0')
      out.home = entry.pw.pw_dir;
  } else {
    who.groups = {who.gid};
  }

  if (who.uid == ::geteuid() && who.gid == ::getegid())
    return out; // already who it asks for: nothing to switch
  if (::geteuid() != 0)
    return fail("nodevisor runs as uid " + std::to_string(::geteuid()) +
                ", not root, so it cannot switch a process to another user; run nodevisor as "
                "root or leave `user` out");
  out.switch_to = std::move(who);
  return out;
}

} // namespace nv
