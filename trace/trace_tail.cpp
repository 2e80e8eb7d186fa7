#include "trace/trace_tail.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <thread>
#include <unistd.h>

#include "trace/trace_render.hpp"

namespace nv {

namespace {

// Owns the descriptor of the file being followed.
struct open_file {
  int fd = -1;
  ~open_file() { reset(); }
  void reset() {
    if (fd >= 0)
      ::close(fd);
    fd = -1;
  }
};

// The file at `path` is no longer the one being read: it was truncated or replaced.
bool restarted(const std::string& path, int fd, uint64_t read_up_to) {
  struct stat now {
  }, ours{};
  if (::fstat(fd, &ours) != 0)
    return true;
  if (static_cast<uint64_t>(ours.st_size) < read_up_to)
    return true;
  return ::stat(path.c_str(), &now) == 0 &&
         (now.st_ino != ours.st_ino || now.st_dev != ours.st_dev);
}

} // namespace

bool tail_matches(const tail_options& opts, const trace_event& ev) {
  if (!opts.kinds.empty() &&
      std::find(opts.kinds.begin(), opts.kinds.end(), kind(ev)) == opts.kinds.end())
    return false;
  return ev.actor.compare(0, opts.actor_prefix.size(), opts.actor_prefix) == 0;
}

bool tail_trace(const std::string& path, const tail_options& opts,
                const volatile std::sig_atomic_t& stop, std::FILE* out, read_stats& stats,
                std::string& error) {
  open_file file;
  bool waiting_reported = false;
  while (!stop) {
    file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (file.fd >= 0)
      break;
    if (errno != ENOENT || !opts.follow) {
      error = path + ": cannot open: " + std::strerror(errno);
      return false;
    }
    if (!waiting_reported)
      std::fprintf(stderr, "%s: does not exist yet, waiting for it\n", path.c_str());
    waiting_reported = true;
    std::this_thread::sleep_for(opts.poll);
  }
  if (stop)
    return true;

  auto reader = std::make_unique<line_reader>(file.fd);
  int64_t origin = 0; // the first event's time; lines print relative to it
  bool have_origin = false;
  trace_record rec;
  std::string why;
  line_reader::line l;
  while (!stop) {
    const auto st = reader->next(l);
    if (st == line_reader::status::error) {
      error = path + ": read failed: " + std::strerror(errno);
      return false;
    }
    if (st == line_reader::status::line) {
      ++stats.lines;
      if (l.too_long) {
        stats.add_malformed(l.number, "line longer than 1 MiB");
      } else if (!parse_trace_line(l.text, rec, why)) {
        stats.add_malformed(l.number, std::move(why));
      } else {
        ++stats.records;
        if (!have_origin) {
          origin = rec.ts_us;
          have_origin = true;
        }
        if (tail_matches(opts, rec.ev))
          std::fprintf(out, "%s\n", render_record(rec, origin).c_str());
      }
      continue;
    }
    std::fflush(out);
    if (!opts.follow) {
      if (reader->has_partial()) {
        ++stats.lines;
        stats.add_malformed(reader->partial_line_number(),
                            "cut off: no newline at the end of the file");
      }
      return true;
    }
    if (restarted(path, file.fd, reader->offset())) {
      std::fprintf(stderr, "%s: truncated or replaced, reading it from the start\n", path.c_str());
      file.reset();
      file.fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
      if (file.fd < 0) {
        error = path + ": cannot reopen: " + std::strerror(errno);
        return false;
      }
      reader = std::make_unique<line_reader>(file.fd);
      have_origin = false;
      continue;
    }
    // Polling, not inotify: it also works on network file systems, and a tenth of a second
    // is as fast as a person reads.
    std::this_thread::sleep_for(opts.poll);
  }
  std::fflush(out);
  return true;
}

} // namespace nv
