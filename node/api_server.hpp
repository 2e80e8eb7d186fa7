// The daemon's control API over HTTP/1.1 (design.md §8), served by cpp-httplib on its own
// threads: a Unix socket whose mode (0660) and group are the authorization, and optionally a
// loopback TCP port that wants `Authorization: Bearer <token>`. Routes only parse and answer;
// the controller does the work.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <thread>

namespace nv {

class controller;
class trace_metrics;
class trace_ring;

// What the streaming routes read: the trace (its ring and its rotated files), the metrics the
// trace feeds, and the replicas' log files.
struct stream_source {
  std::shared_ptr<const trace_ring> ring;
  std::filesystem::path trace_file;
  const trace_metrics* metrics = nullptr;
  std::filesystem::path log_dir; // <deployment>.<replica>.log files
  // Writes out what the trace still queues, so that a reader of the file sees the latest events.
  std::function<void()> flush_trace;
};

struct api_server_config {
  std::string socket_path;        // empty: no Unix socket
  gid_t socket_group = (gid_t)-1; // -1: the daemon's own
  std::string listen_host;        // empty: no TCP
  int listen_port = 0;            // 0: any free port (tests), see tcp_port()
  std::string token;              // required with TCP
  std::size_t max_body = 4 * 1024 * 1024;
  std::string version;
};

class api_server {
public:
  // Binds both; throws std::runtime_error naming the socket or port and the cause: a live
  // socket (another daemon answers on it) is refused, a stale one (nobody answers) replaced.
  api_server(controller& ctl, api_server_config cfg, stream_source* streams);
  ~api_server(); // stop()

  void start(); // serves on background threads
  void stop();  // stops accepting, ends the streams, joins the threads
  int tcp_port() const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nv
