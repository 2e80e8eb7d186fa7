// nodevisor-demo: the small TCP/HTTP server the example deployment runs, so the example
// needs nothing a fresh machine lacks. It can misbehave on purpose, to show supervision:
//
//   nodevisor-demo --port P [--name N] [--start-delay S] [--crash-after S] [--exit-code C]
//                  [--unhealthy-after S] [--ignore-sigterm] [--no-answer]
//                  [--upstream HOST:PORT[,HOST:PORT...]] [--every S]
//
// GET /health answers 200 while healthy and 503 after --unhealthy-after; GET / answers 200
// with a greeting; any other path 404. --no-answer accepts connections and never answers
// (a hung server). Times are in seconds (fractions allowed).
//
// With --upstream it also talks to the servers it depends on, as a real service would: every
// --every seconds (default 2) a GET / to the next upstream in turn, one line per call
// ("web -> api-2: 200 in 1ms", the callee named by its greeting). It prints one line per
// request it serves too, but not for GET /health, which the probes send every few seconds.
// Output is flushed line by line, so that a supervisor shows each line as it happens.
#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

// Read by the talker thread too: a lock-free atomic, which a signal handler may set.
std::atomic<int> stop_requested{0};

void on_term(int) {
  stop_requested = 1;
}

struct options {
  int port = 0;
  std::string name = "demo";
  double start_delay = 0, crash_after = -1, unhealthy_after = -1;
  int exit_code = 1;
  bool ignore_sigterm = false;
  bool no_answer = false;
  std::vector<std::string> upstreams; // "host:port"
  double every = 2;
};

std::vector<std::string> split_commas(const std::string& text) {
  std::vector<std::string> out;
  std::size_t from = 0;
  for (auto at = text.find(','); at != std::string::npos; at = text.find(',', from)) {
    out.push_back(text.substr(from, at - from));
    from = at + 1;
  }
  out.push_back(text.substr(from));
  return out;
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    const char* v = nullptr;
    if (a == "--ignore-sigterm") {
      o.ignore_sigterm = true;
      continue;
    }
    if (a == "--no-answer") {
      o.no_answer = true;
      continue;
    }
    if (!(v = next())) {
      std::fprintf(stderr, "nodevisor-demo: %s needs a value\n", a.c_str());
      return false;
    }
    if (a == "--port")
      o.port = std::atoi(v);
    else if (a == "--name")
      o.name = v;
    else if (a == "--start-delay")
      o.start_delay = std::atof(v);
    else if (a == "--crash-after")
      o.crash_after = std::atof(v);
    else if (a == "--exit-code")
      o.exit_code = std::atoi(v);
    else if (a == "--unhealthy-after")
      o.unhealthy_after = std::atof(v);
    else if (a == "--upstream")
      o.upstreams = split_commas(v);
    else if (a == "--every")
      o.every = std::atof(v);
    else {
      std::fprintf(stderr, "nodevisor-demo: unknown option %s\n", a.c_str());
      return false;
    }
  }
  if (o.port <= 0 || o.port > 65535) {
    std::fprintf(stderr, "nodevisor-demo: --port 1..65535 is required\n");
    return false;
  }
  for (auto& u : o.upstreams)
    if (u.rfind(':') == std::string::npos || std::atoi(u.c_str() + u.rfind(':') + 1) <= 0) {
      std::fprintf(stderr, "nodevisor-demo: --upstream expects HOST:PORT, got '%s'\n", u.c_str());
      return false;
    }
  if (o.every <= 0) {
    std::fprintf(stderr, "nodevisor-demo: --every expects a positive number of seconds\n");
    return false;
  }
  return true;
}

void answer(int fd, bool healthy, const options& o) {
  char buf[2048];
  auto n = ::recv(fd, buf, sizeof buf - 1, 0);
  if (n <= 0)
    return;
  buf[n] = 0;
  bool health_path = std::strncmp(buf, "GET /health ", 12) == 0;
  bool root_path = std::strncmp(buf, "GET / ", 6) == 0;
  int status = health_path ? (healthy ? 200 : 503) : root_path ? 200 : 404;
  if (!health_path) {
    std::string line{buf, std::strcspn(buf, "\r\n")};
    std::printf("%s: %s -> %d\n", o.name.c_str(), line.substr(0, 80).c_str(), status);
  }
  std::string body =
      health_path ? (healthy ? "ok\n" : "unhealthy\n") : "hello from " + o.name + "\n";
  std::string reply =
      "HTTP/1.1 " + std::to_string(status) +
      (status == 200   ? " OK"
       : status == 404 ? " Not Found"
                       : " Service Unavailable") +
      "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) +
      "\r\nConnection: close\r\n\r\n" + body;
  [[maybe_unused]] auto w = ::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
}

// One GET / to `upstream`: "200 in 2ms" and the name its greeting gives, or why it failed.
// Bounded by 1 s each way, so a hung upstream shows as a timeout, not as silence.
std::string call(const std::string& upstream, std::string& callee) {
  using clock = std::chrono::steady_clock;
  auto colon = upstream.rfind(':');
  auto host = upstream.substr(0, colon);
  auto port = std::atoi(upstream.c_str() + colon + 1);
  callee = upstream;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::inet_pton(AF_INET, host.c_str(), &addr.sin_addr) != 1)
    return "not an IPv4 address";
  auto t0 = clock::now();
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  timeval limit{1, 0};
  ::setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  std::string reply;
  std::string failed;
  if (::connect(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    failed = std::strerror(errno);
  } else {
    std::string req = "GET / HTTP/1.1\r\nHost: " + upstream + "\r\nConnection: close\r\n\r\n";
    if (::send(s, req.data(), req.size(), MSG_NOSIGNAL) < 0)
      failed = std::strerror(errno);
    char buf[2048];
    ssize_t n = 0;
    while (failed.empty() && (n = ::recv(s, buf, sizeof buf, 0)) > 0)
      reply.append(buf, static_cast<std::size_t>(n));
    if (failed.empty() && n < 0)
      failed =
          errno == EAGAIN || errno == EWOULDBLOCK ? "no answer within 1s" : std::strerror(errno);
  }
  ::close(s);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - t0).count();
  if (!failed.empty())
    return failed;
  if (auto at = reply.find("hello from "); at != std::string::npos)
    callee = reply.substr(at + 11, reply.find('\n', at) - at - 11);
  auto status = reply.size() > 12 ? reply.substr(9, 3) : std::string{"no status"};
  return status + " in " + std::to_string(ms) + "ms";
}

// Calls the upstreams in turn until asked to stop; its own thread, so that a slow upstream
// never delays the answers this server gives (its own health checks among them).
void talk(const options& o) {
  std::size_t next = 0;
  while (!stop_requested) {
    std::string callee;
    auto outcome = call(o.upstreams[next], callee);
    std::printf("%s -> %s: %s\n", o.name.c_str(), callee.c_str(), outcome.c_str());
    next = (next + 1) % o.upstreams.size();
    for (double slept = 0; slept < o.every && !stop_requested; slept += 0.1)
      std::this_thread::sleep_for(std::chrono::milliseconds{100});
  }
}

} // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o))
    return 2;
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::signal(SIGTERM, o.ignore_sigterm ? SIG_IGN : on_term);
  std::signal(SIGINT, on_term);
  using clock = std::chrono::steady_clock;
  auto t0 = clock::now();
  auto since = [&] { return std::chrono::duration<double>(clock::now() - t0).count(); };
  if (o.start_delay > 0) {
    std::printf("%s: starting slowly (%.1fs)\n", o.name.c_str(), o.start_delay);
    std::this_thread::sleep_for(std::chrono::duration<double>(o.start_delay));
  }
  int s = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  ::setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(o.port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(s, 64) != 0) {
    std::fprintf(stderr, "%s: cannot listen on 127.0.0.1:%d: %s\n", o.name.c_str(), o.port,
                 std::strerror(errno));
    return 1;
  }
  std::printf("%s: listening on 127.0.0.1:%d\n", o.name.c_str(), o.port);
  // Detached: an exit (a crash on purpose, say) must not wait for a call in flight.
  if (!o.upstreams.empty())
    std::thread{talk, std::cref(o)}.detach();
  std::vector<int> hung;
  while (!stop_requested) {
    if (o.crash_after >= 0 && since() >= o.start_delay + o.crash_after) {
      std::fprintf(stderr, "%s: crashing on purpose (exit %d)\n", o.name.c_str(), o.exit_code);
      return o.exit_code;
    }
    pollfd p{s, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      int c = ::accept4(s, nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0 && o.no_answer) {
        hung.push_back(c); // keep it open, say nothing
      } else if (c >= 0) {
        bool healthy = o.unhealthy_after < 0 || since() < o.start_delay + o.unhealthy_after;
        answer(c, healthy, o);
        ::close(c);
      }
    }
  }
  std::printf("%s: stopping\n", o.name.c_str());
  ::close(s);

  return 0;
}
