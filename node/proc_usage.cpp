#include "node/proc_usage.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

namespace nv {

namespace {

// A small /proc file, or empty once it is gone. Read with read(2): a process that exits between
// the open and the read makes it fail with ESRCH, which a stream turns into an exception.
std::string read_proc(const char* path) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return {};
  char buf[1024]; // /proc/PID/stat is a few hundred bytes
  ssize_t n;
  do
    n = ::read(fd, buf, sizeof buf);
  while (n < 0 && errno == EINTR);
  ::close(fd);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
}

double mem_total_bytes() {
  static const double total = [] {
    const std::string text = read_proc("/proc/meminfo");
    const auto at = text.find("MemTotal:");
    return at == std::string::npos ? 0.0 : std::strtod(text.c_str() + at + 9, nullptr) * 1024;
  }();
  return total;
}

struct stat_fields {
  uint64_t utime = 0, stime = 0, start = 0, rss = 0;
};

// After the command, which may hold anything up to its last ')': state is field 3, utime 14,
// stime 15, starttime 22, rss 24 (1-based, as proc(5) counts).
bool parse_stat(const std::string& text, stat_fields& f) {
  const auto close = text.rfind(')');
  if (close == std::string::npos)
    return false;
  const char* at = text.data() + close + 1;
  const char* end = text.data() + text.size();
  for (int field = 3; field <= 24; ++field) {
    while (at < end && *at == ' ')
      ++at;
    if (at == end)
      return false;
    uint64_t* into = field == 14   ? &f.utime
                     : field == 15 ? &f.stime
                     : field == 22 ? &f.start
                     : field == 24 ? &f.rss
                                   : nullptr;
    const char* next = std::find(at, end, ' ');
    if (into && std::from_chars(at, next, *into).ec != std::errc{})
      return false;
    at = next;
  }
  return true;
}

} // namespace

proc_usage read_usage(const std::vector<int32_t>& pids) {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  static const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  proc_usage u;
  if (pids.empty())
    return u;
  const double uptime = std::strtod(read_proc("/proc/uptime").c_str(), nullptr);
  const double total = mem_total_bytes();
  for (int32_t pid : pids) {
    char path[32];
    std::snprintf(path, sizeof path, "/proc/%d/stat", pid);
    stat_fields f;
    if (!parse_stat(read_proc(path), f))
      continue;
    const double started = static_cast<double>(f.start) / ticks;
    if (uptime > started)
      u.cpu_percent += 100.0 * static_cast<double>(f.utime + f.stime) / ticks / (uptime - started);
    if (total > 0)
      u.memory_percent += 100.0 * static_cast<double>(f.rss) * page / total;
  }
  return u;
}

usage_cache::usage_cache(std::chrono::milliseconds max_age, reader read)
    : max_age_{max_age}, read_{read} {}

usage_cache::~usage_cache() {
  {
    std::lock_guard<std::mutex> g{mu_};
    stopping_ = true;
  }
  wake_.notify_all();
  if (refresher_.joinable())
    refresher_.join();
}

proc_usage usage_cache::get(const std::string& key, std::vector<int32_t> pids) {
  {
    std::lock_guard<std::mutex> g{mu_};
    auto it = entries_.find(key);
    if (it != entries_.end()) {
      entry& e = it->second;
      if (!e.refreshing && clock::now() - e.read_at >= max_age_ && !stopping_) {
        e.refreshing = true;
        jobs_.push_back({key, std::move(pids)});
        if (!refresher_.joinable())
          refresher_ = std::thread{[this] {
            pthread_setname_np(pthread_self(), "nv.usage");
            refresh_loop();
          }};
        wake_.notify_one();
      }
      return e.usage;
    }
  }
  // The first time: the answer waits for it, once.
  const proc_usage now = read_(pids);
  std::lock_guard<std::mutex> g{mu_};
  entries_.insert_or_assign(key, entry{now, clock::now(), false});
  return now;
}

void usage_cache::forget(const std::string& key_prefix) {
  std::lock_guard<std::mutex> g{mu_};
  for (auto it = entries_.lower_bound(key_prefix);
       it != entries_.end() && it->first.starts_with(key_prefix);)
    it = entries_.erase(it);
}

void usage_cache::refresh_loop() {
  std::unique_lock<std::mutex> g{mu_};
  for (;;) {
    wake_.wait(g, [this] { return stopping_ || !jobs_.empty(); });
    if (stopping_)
      return;
    job j = std::move(jobs_.front());
    jobs_.pop_front();
    g.unlock();
    const proc_usage now = read_(j.pids);
    g.lock();
    // Forgotten meanwhile: it stays forgotten.
    if (auto it = entries_.find(j.key); it != entries_.end())
      it->second = entry{now, clock::now(), false};
  }
}

} // namespace nv
