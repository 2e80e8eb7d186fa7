#include "app/client/api_client.hpp"

#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <grp.h>
#include <httplib.h>
#include <memory>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "messages/printable.hpp"
#include "posix/token_file.hpp"

namespace nv::client {

namespace {

constexpr auto connect_timeout = std::chrono::seconds{5};
// A follow stream waits for as long as the service is quiet. httplib hands the timeout to
// poll(2) in milliseconds as an int, so "none" is the largest that fits: about 24 days.
constexpr auto stream_read_timeout = std::chrono::hours{24 * 24};

std::string group_name(gid_t gid) {
  if (const group* g = ::getgrgid(gid))
    return g->gr_name;
  return std::to_string(gid);
}

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

// Why connect(2) fails on the socket now: the errno httplib does not report.
int connect_errno(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return errno;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    ::close(fd);
    return ENAMETOOLONG;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  int err = rc == 0 ? 0 : errno;
  ::close(fd);
  return err;
}

// Not permitted: which file stands in the way (the socket, or a directory above it that this
// user cannot enter), and its group, which is what the user should join.
std::string not_permitted(const std::string& path) {
  namespace fs = std::filesystem;
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0)
    return "not permitted to connect to the daemon's control socket " + path + " (group " +
           group_name(st.st_gid) + ", mode " + mode_text(st.st_mode) + "): add yourself to group " +
           group_name(st.st_gid) + " (usermod -aG " + group_name(st.st_gid) +
           " USER, then log in again), or use sudo";
  for (fs::path dir = fs::path{path}.parent_path(); !dir.empty() && dir != dir.root_path();
       dir = dir.parent_path())
    if (::stat(dir.c_str(), &st) == 0)
      return "not permitted to connect to the daemon's control socket " + path + ": directory " +
             dir.string() + " (group " + group_name(st.st_gid) + ", mode " + mode_text(st.st_mode) +
             ") does not let you in: add yourself to group " + group_name(st.st_gid) +
             " (usermod -aG " + group_name(st.st_gid) + " USER, then log in again), or use sudo";
  return "not permitted to connect to the daemon's control socket " + path + ": " +
         std::strerror(EACCES);
}

[[noreturn]] void fail_connection(const endpoint& ep, httplib::Error err) {
  if (err != httplib::Error::Connection)
    throw client_error{exit_unreachable,
                       "the daemon at " + ep.shown + " did not answer: " + httplib::to_string(err)};
  if (!ep.is_unix)
    throw client_error{exit_unreachable, "cannot connect to the daemon at " + ep.shown +
                                             ": is it running, with `listen` set to this address?"};
  const int e = connect_errno(ep.path);
  switch (e) {
  case ENOENT:
  case ECONNREFUSED:
  case ENOTDIR:
    throw client_error{exit_unreachable,
                       "the daemon is not running: nothing answers on its control socket " +
                           ep.path + " (" + std::strerror(e) +
                           "); start it (systemctl start nodevisor), or point --host or "
                           "$NODEVISOR_HOST at the right socket"};
  case EACCES:
  case EPERM:
    throw client_error{exit_unreachable, not_permitted(ep.path)};
  default:
    throw client_error{exit_unreachable, "cannot connect to the daemon's control socket " +
                                             ep.path + ": " +
                                             (e ? std::strerror(e) : "the connection failed")};
  }
}

std::unique_ptr<httplib::Client> make_client(const endpoint& ep,
                                             std::chrono::seconds read_timeout) {
  auto c = ep.is_unix ? std::make_unique<httplib::Client>(ep.path, 80)
                      : std::make_unique<httplib::Client>(ep.host, ep.port);
  if (ep.is_unix)
    c->set_address_family(AF_UNIX);
  c->set_connection_timeout(connect_timeout);
  c->set_read_timeout(read_timeout);
  c->set_write_timeout(std::chrono::seconds{30});
  if (!ep.token.empty())
    c->set_bearer_token_auth(ep.token);
  return c;
}

api_response answer(const endpoint& ep, const httplib::Result& r) {
  if (!r)
    fail_connection(ep, r.error());
  return {r->status, r->body};
}

std::string env_or(const char* name, std::string fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::string{v} : std::move(fallback);
}

} // namespace

endpoint parse_host(std::string_view text) {
  endpoint ep;
  ep.shown = std::string{text};
  auto bad = [&](const std::string& why) {
    return client_error{exit_usage, "--host " + printable(text) + ": " + why +
                                        "; expected unix:///path/to/socket or "
                                        "tcp://127.0.0.1:PORT"};
  };
  if (text.starts_with("unix://")) {
    ep.is_unix = true;
    ep.path = std::string{text.substr(7)};
    if (ep.path.empty() || ep.path.front() != '/')
      throw bad("the socket path must be absolute");
    if (ep.path.size() >= sizeof(sockaddr_un{}.sun_path))
      throw bad("the socket path is longer than a Unix socket's limit of " +
                std::to_string(sizeof(sockaddr_un{}.sun_path) - 1) + " bytes");
    return ep;
  }
  if (text.starts_with("tcp://")) {
    ep.is_unix = false;
    auto rest = text.substr(6);
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      throw bad("no HOST:PORT");
    ep.host = std::string{rest.substr(0, colon)};
    if (ep.host.size() > 2 && ep.host.front() == '[' && ep.host.back() == ']')
      ep.host = ep.host.substr(1, ep.host.size() - 2);
    auto port = rest.substr(colon + 1);
    int value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535)
        throw bad("the port must be a number from 1 to 65535");
      value = value * 10 + (c - '0');
    }
    if (port.empty() || value < 1 || value > 65535)
      throw bad("the port must be a number from 1 to 65535");
    ep.port = value;
    return ep;
  }
  throw bad("unknown scheme");
}

std::string read_token_file(const std::string& path) {
  auto read = nv::read_token_file(path);
  if (!read.error.empty())
    throw client_error{exit_usage, read.error};
  return read.token;
}

endpoint resolve_endpoint(const connection_options& opts) {
  auto host = opts.host.empty() ? env_or("NODEVISOR_HOST", std::string{default_host}) : opts.host;
  auto ep = parse_host(host);
  if (!ep.is_unix) {
    auto file = opts.token_file.empty() ? env_or("NODEVISOR_TOKEN_FILE", "") : opts.token_file;
    if (file.empty())
      throw client_error{exit_usage, "--host " + ep.shown +
                                         ": TCP needs the daemon's bearer token: give "
                                         "--token-file FILE or set $NODEVISOR_TOKEN_FILE"};
    ep.token = read_token_file(file);
  }
  return ep;
}

api_client::api_client(endpoint ep) : ep_{std::move(ep)} {}

api_response api_client::get(const std::string& path) {
  return answer(ep_, make_client(ep_, read_timeout_)->Get(path));
}

api_response api_client::post(const std::string& path, const std::string& json_body) {
  return answer(ep_, make_client(ep_, read_timeout_)->Post(path, json_body, "application/json"));
}

api_response api_client::put(const std::string& path, const std::string& json_body) {
  return answer(ep_, make_client(ep_, read_timeout_)->Put(path, json_body, "application/json"));
}

api_response api_client::del(const std::string& path) {
  return answer(ep_, make_client(ep_, read_timeout_)->Delete(path));
}

api_response api_client::stream(const std::string& path,
                                const std::function<void(std::string_view)>& sink) {
  auto c = make_client(ep_, stream_read_timeout);
  api_response out;
  auto r = c->Get(
      path,
      [&](const httplib::Response& res) {
        out.status = res.status;
        return true;
      },
      [&](const char* data, std::size_t n) {
        if (out.status >= 200 && out.status < 300)
          sink({data, n});
        else if (out.body.size() < 64 * 1024)
          out.body.append(data, n);
        return true;
      });
  if (!r && out.status == 0)
    fail_connection(ep_, r.error());
  return out;
}

std::string error_kind(const api_response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("kind") && j["error"]["kind"].is_string())
    return j["error"]["kind"].get<std::string>();
  return {};
}

std::string error_text(const api_response& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object() &&
      j["error"].contains("message") && j["error"]["message"].is_string()) {
    // A message may hold several lines (the problems of a spec): each stays its own line.
    std::string out;
    auto text = j["error"]["message"].get<std::string>();
    while (!text.empty() && text.back() == '\n')
      text.pop_back();
    for (std::size_t at = 0; at <= text.size();) {
      auto nl = text.find('\n', at);
      if (nl == std::string::npos)
        nl = text.size();
      if (!out.empty())
        out += '\n';
      out += printable(std::string_view{text}.substr(at, nl - at));
      at = nl + 1;
    }
    return out;
  }
  auto body = r.body.substr(0, 300);
  return "the daemon answered HTTP " + std::to_string(r.status) +
         (body.empty() ? std::string{} : ": " + printable(body));
}

void expect_success(const api_response& r) {
  if (r.status >= 200 && r.status < 300)
    return;
  if (r.status == 401)
    throw client_error{exit_unreachable,
                       error_text(r) + " (the daemon refused the bearer token: give --token-file "
                                       "the file the daemon's token_file names)"};
  throw client_error{exit_failed, error_text(r)};
}

std::string url_encode(std::string_view text, bool keep_slash) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slash && c == '/'))
      out += static_cast<char>(c);
    else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

} // namespace nv::client
