// What a service's processes use, as ZLayer's ServiceDetails.metrics reports it: CPU as the
// average since each process started, memory as its resident set, both in percent of the node,
// summed over the processes. Read from /proc, without keeping samples between reads.
//
// One stat file per process costs about 10 µs of kernel time, so a service of 1 000 replicas
// costs 10 ms per read: answers take the value of a usage_cache, at most `max_age` old, and a
// stale one is refreshed on a thread of the cache's own while the answer goes out with the last
// value. Nothing is read while nobody asks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace nv {

struct proc_usage {
  double cpu_percent = 0, memory_percent = 0;
};

// Now, from /proc; a pid that is gone counts as nothing.
proc_usage read_usage(const std::vector<int32_t>& pids);

class usage_cache {
public:
  using clock = std::chrono::steady_clock;
  using reader = std::function<proc_usage(const std::vector<int32_t>&)>;

  explicit usage_cache(std::chrono::milliseconds max_age = std::chrono::seconds{1},
                       reader read = read_usage);
  ~usage_cache(); // waits for a refresh under way
  usage_cache(const usage_cache&) = delete;
  usage_cache& operator=(const usage_cache&) = delete;

  // The usage of `pids` under `key` (a service's path): read now the first time; later the last
  // value, which a refresh replaces once it is older than max_age.
  proc_usage get(const std::string& key, std::vector<int32_t> pids);
  // A service that is gone: its value goes too.
  void forget(const std::string& key_prefix);

private:
  struct entry {
    proc_usage usage;
    clock::time_point read_at;
    bool refreshing = false;
  };
  struct job {
    std::string key;
    std::vector<int32_t> pids;
  };
  void refresh_loop();

  const std::chrono::milliseconds max_age_;
  const reader read_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::map<std::string, entry> entries_;
  std::deque<job> jobs_;
  bool stopping_ = false;
  std::thread refresher_; // started at the first stale value
};

} // namespace nv
