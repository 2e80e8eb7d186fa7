// What the keeper and the process runtime say to each other over the keeper's socket: one JSON
// object per SOCK_SEQPACKET message, {"op": ..., fields}. The runtime names each container by
// its runtime key and an incarnation number (gen) that it never reuses, so an answer or an exit
// meant for a removed namesake is recognised as stale. The keeper decides nothing: it spawns,
// signals, kills and reports, and keeps what it holds across a reconnect.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace nv::keeper {

// Bumped when a message changes incompatibly: a daemon refuses a keeper of another version
// (after an upgrade, the old keeper's containers are then stopped and started anew).
inline constexpr int protocol_version = 2;

// The biggest message either side sends: an exec's output (64 KiB, escaped). A hello is followed
// by one message per container and per note, so that no message grows with the node; forwarded
// output goes in chunks of forward_chunk bytes. A machine's default socket buffer (208 KiB) takes
// any of them.
inline constexpr std::size_t max_message = 1 << 20;
inline constexpr std::size_t forward_chunk = 16 * 1024;

// --- runtime -> keeper ---

struct log_target {
  std::string name;       // file under the keeper's log dir; empty: no file
  uint64_t max_size = 0;  // rotate when the file would pass this; 0: never
  uint32_t max_files = 0; // rotated files kept (.1 .. .N)
};

// A main process that another program starts: argv is a launcher (`runc create`) that sets the
// container up, writes its main process's pid to `pid_file` and exits, leaving that process to
// the keeper, a subreaper, and to the launcher's stdout and stderr; then `start` (`runc start`)
// lets it run. The container runs once both succeeded; the launcher's failure is the create's,
// the start command's the start's, and so is a launcher's whose output has `start_failure` (runc
// create execs the entrypoint before it returns: a missing one is a failed start).
struct launch {
  std::string pid_file;
  std::vector<std::string> start;
  std::string start_failure;
  bool operator==(const launch&) const = default;
};

// Start a container's main process.
struct spawn {
  std::string id;
  uint64_t gen = 0;
  std::vector<std::string> argv;
  std::string deployment, service; // for its NODEVISOR_* variables
  uint32_t replica = 1;
  std::vector<std::pair<std::string, std::string>> env; // the spec's
  std::string workdir;
  std::string user;
  log_target log;
  bool forward = false;    // also send its output to the runtime (run's console)
  std::string fingerprint; // the runtime's, handed back in the hello
  launch launched_by;      // pid_file empty: argv is the main process itself
};

// Signal the container's process group; with grace_ms >= 0, SIGKILL its whole cgroup once that
// has passed and it still runs (a stop).
struct signal {
  std::string id;
  uint64_t gen = 0;
  int signo = 0;
  int64_t grace_ms = -1;
};

// Kill everything the container runs and forget it, without reporting its exit (remove).
struct kill {
  std::string id;
  uint64_t gen = 0;
};

// Run a command inside a running container (its env, workdir, user and cgroup).
struct exec {
  std::string id;
  uint64_t gen = 0;
  uint64_t exec_id = 0;
  std::vector<std::string> argv;
  int64_t timeout_ms = 0; // <= 0: none
};

// Kill every container and exit (the daemon's SIGTERM, after it stopped the tree).
struct shutdown {};

// Keep `text` under `key` for the next runtime that connects (the supervisors' memory: restart
// counts, backoffs); empty text forgets the key.
struct note {
  std::string key;
  std::string text;
};

// Forget every note whose key starts with `prefix` (a deployment that is gone).
struct forget {
  std::string prefix;
};

using request = std::variant<spawn, signal, kill, exec, shutdown, note, forget>;

// --- keeper -> runtime ---

// A container the keeper holds, listed when a runtime connects.
struct held {
  std::string id;
  uint64_t gen = 0;
  int32_t pid = 0;
  uint64_t start_time = 0; // /proc/PID/stat's starttime: with the pid, its identity
  std::string fingerprint;
  bool exited = false; // while nobody was connected
  int32_t code = 0;
  int32_t signo = 0;
  std::vector<std::string> tail; // its last lines
};

// The first message on a connection, followed by `containers` held and `notes` note messages.
struct hello {
  int version = protocol_version;
  int32_t keeper_pid = 0;
  bool cgroups = false; // a freezer cgroup per container; else process groups and subreaping
  std::size_t containers = 0;
  std::size_t notes = 0;
};

struct spawned {
  std::string id;
  uint64_t gen = 0;
  int32_t pid = 0;
  uint64_t start_time = 0;
};

enum class spawn_stage : uint8_t { start, create };

struct spawn_failed {
  std::string id;
  uint64_t gen = 0;
  std::string error;
  spawn_stage stage = spawn_stage::start; // create: a launcher's failure
};

struct exited {
  std::string id;
  uint64_t gen = 0;
  int32_t code = 0;
  int32_t signo = 0;
  std::vector<std::string> tail;
};

struct exec_done {
  std::string id;
  uint64_t exec_id = 0;
  int32_t code = 0; // -1: it could not run; output says why
  std::string output;
  bool timed_out = false;
};

struct output {
  std::string id;
  uint64_t gen = 0;
  std::string bytes;
};

using event = std::variant<hello, held, note, spawned, spawn_failed, exited, exec_done, output>;

std::string encode(const request& r);
std::string encode(const event& e);
// nullopt when the text is not a message of this protocol; `error` says why.
std::optional<request> decode_request(std::string_view text, std::string& error);
std::optional<event> decode_event(std::string_view text, std::string& error);

// Room for the largest message, left uninitialised: only the pages messages reach are ever
// touched, so the megabyte costs what the messages use (a zeroed vector cost all of it, in the
// keeper and in the daemon alike).
class message_buffer {
public:
  char* data() { return bytes_.get(); }
  std::size_t size() const { return max_message; }

private:
  std::unique_ptr<char[]> bytes_{new char[max_message]};
};

// Sizes both buffers of a connection's socket for bursts (1 000 starts at once): as root beyond
// the machine's limit (SO_*BUFFORCE), else up to it. Both ends call it.
void size_socket_buffers(int fd);

} // namespace nv::keeper
