#include "trace/trace_follow.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

#include <nlohmann/json.hpp>

namespace nv {

namespace {

// Every line the sink writes starts `{"seq":N,` (trace/trace_line.hpp): the seq without a parse.
std::optional<uint64_t> seq_of(std::string_view line) {
  constexpr std::string_view head = "{\"seq\":";
  if (!line.starts_with(head))
    return std::nullopt;
  uint64_t seq = 0;
  const char* begin = line.data() + head.size();
  const auto [end, ec] = std::from_chars(begin, line.data() + line.size(), seq);
  if (ec != std::errc{} || end == begin)
    return std::nullopt;
  return seq;
}

std::filesystem::path rotated_name(const std::filesystem::path& file, unsigned n) {
  std::filesystem::path name = file;
  name += "." + std::to_string(n);
  return name;
}

} // namespace

// Read through the descriptor rather than a stream so that the file is known by its inode: the
// writer renames files under a reader, and a name read twice may be two files.
class trace_reader_cursor::file_lines {
public:
  static std::unique_ptr<file_lines> open(const std::filesystem::path& name) {
    const int fd = ::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
      return nullptr;
    auto f = std::unique_ptr<file_lines>(new file_lines(fd));
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      return nullptr;
    f->dev_ = st.st_dev;
    f->ino_ = st.st_ino;
    return f;
  }
  ~file_lines() { ::close(fd_); }
  file_lines(const file_lines&) = delete;
  file_lines& operator=(const file_lines&) = delete;

  bool same_file(const file_lines& other) const { return dev_ == other.dev_ && ino_ == other.ino_; }

  // The next complete line, without its newline; false at the end of what is there, a partial
  // last line included (the writer is in the middle of it, and the ring has it by the time the
  // reader needs it).
  bool next(std::string_view& line) {
    for (;;) {
      const std::size_t nl = buf_.find('\n', pos_);
      if (nl != std::string::npos) {
        line = std::string_view(buf_).substr(pos_, nl - pos_);
        pos_ = nl + 1;
        return true;
      }
      buf_.erase(0, pos_);
      pos_ = 0;
      const std::size_t had = buf_.size();
      buf_.resize(had + chunk);
      ssize_t n;
      do
        n = ::read(fd_, buf_.data() + had, chunk);
      while (n < 0 && errno == EINTR);
      buf_.resize(had + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
      if (n <= 0)
        return false;
    }
  }

  // Read when the file was chosen, and delivered before the rest.
  std::string first_line;
  bool has_first = false;

private:
  static constexpr std::size_t chunk = 64 * 1024;
  explicit file_lines(int fd) : fd_(fd) {}

  const int fd_;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  std::string buf_;
  std::size_t pos_ = 0;
};

bool trace_filter::matches(std::string_view actor, std::string_view event) const {
  if (!events.empty() && std::find(events.begin(), events.end(), event) == events.end())
    return false;
  if (actor_prefix.empty() || actor_prefix == "/")
    return true;
  std::string_view prefix = actor_prefix;
  if (prefix.ends_with('/'))
    prefix.remove_suffix(1);
  return actor.starts_with(prefix) &&
         (actor.size() == prefix.size() || actor[prefix.size()] == '/');
}

std::string trace_reader_cursor::cut_off_line(uint64_t last_seq) {
  const std::string s = std::to_string(last_seq);
  return R"({"event":"cut_off","last_seq":)" + s +
         R"(,"message":"reader too slow: resume with since=)" + s + "\"}\n";
}

trace_reader_cursor::trace_reader_cursor(std::shared_ptr<const trace_ring> ring,
                                         std::filesystem::path file, uint64_t since,
                                         trace_filter filter)
    : ring_(std::move(ring)), file_(std::move(file)), filter_(std::move(filter)),
      cursor_(std::min(since, ring_->last_seq())) {}

trace_reader_cursor::~trace_reader_cursor() = default;

trace_reader_cursor::status trace_reader_cursor::next(std::vector<std::string>& out,
                                                      std::chrono::milliseconds wait, bool follow) {
  out.clear();
  if (!follow && !end_seq_)
    end_seq_ = ring_->last_seq();
  const auto deadline = std::chrono::steady_clock::now() + wait;
  std::size_t bytes = 0;
  std::size_t scanned = 0;
  for (;;) {
    if (!follow && cursor_ >= *end_seq_)
      return status::end;
    if (!(follow && in_ring_) && !read_files(out, bytes, scanned))
      return status::more;
    bool full = false;
    const bool kept =
        ring_->visit_after(cursor_, max_scan_lines - std::min(scanned, max_scan_lines),
                           [&](const trace_ring::line& l) {
                             if (!follow && l.seq > *end_seq_)
                               return false;
                             ++scanned;
                             full = !take(l.seq, l.text, l.actor, to_string(l.kind), out, bytes);
                             return !full;
                           });
    if (!kept) {
      if (follow && in_ring_) { // the writer overtook it
        out.push_back(cut_off_line(cursor_));
        return status::cut_off;
      }
      continue; // still replaying, or not following: the files have it
    }
    in_ring_ = true;
    if (full || scanned >= max_scan_lines || (follow && !out.empty()))
      return status::more;
    if (!follow)
      continue; // at end_seq_: the check above ends it
    if (!ring_->wait_past(cursor_, deadline))
      return status::idle;
  }
}

bool trace_reader_cursor::take(uint64_t seq, std::string_view line, std::string_view actor,
                               std::string_view event, std::vector<std::string>& out,
                               std::size_t& bytes) {
  cursor_ = seq;
  if (filter_.matches(actor, event)) {
    out.emplace_back(line);
    if (out.back().empty() || out.back().back() != '\n')
      out.back() += '\n';
    bytes += out.back().size();
  }
  return out.size() < max_batch_lines && bytes < max_batch_bytes;
}

bool trace_reader_cursor::take_file_line(std::string_view line, std::vector<std::string>& out,
                                         std::size_t& bytes) {
  const std::optional<uint64_t> seq = seq_of(line);
  if (!seq || *seq <= cursor_)
    return true;
  if (filter_.empty())
    return take(*seq, line, {}, {}, out, bytes);
  // The files have no kind and actor on the side: a replay parses what it filters.
  const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
  if (!j.is_object())
    return true;
  const auto actor = j.value("actor", std::string{});
  const auto event = j.value("event", std::string{});
  return take(*seq, line, actor, event, out, bytes);
}

bool trace_reader_cursor::read_files(std::vector<std::string>& out, std::size_t& bytes,
                                     std::size_t& scanned) {
  // A bound on the files opened in one call, against a directory that changes under each scan.
  int opens_left = 16;
  std::string_view line;
  for (;;) {
    const uint64_t oldest = ring_->oldest_seq();
    if (cursor_ + 1 >= oldest) {
      reading_.reset();
      return true;
    }
    if (!reading_) {
      if (opens_left-- == 0)
        return false;
      reading_ = file_.empty() ? nullptr : open_containing(cursor_ + 1, nullptr);
      if (!reading_) { // nothing older is kept: on from the ring's oldest
        cursor_ = oldest - 1;
        return true;
      }
    }
    if (reading_->has_first) {
      reading_->has_first = false;
      ++scanned;
      if (!take_file_line(reading_->first_line, out, bytes))
        return false;
      continue;
    }
    if (reading_->next(line)) {
      ++scanned;
      if (!take_file_line(line, out, bytes) || scanned >= max_scan_lines)
        return false;
      continue;
    }
    // At its end and still older than the ring: the line after the cursor is in a newer file, or
    // gone (the file failed), and then the ring's oldest is next.
    if (cursor_ + 1 >= ring_->oldest_seq())
      continue;
    if (opens_left-- == 0)
      return false;
    reading_ = open_containing(cursor_ + 1, reading_.get());
    if (!reading_)
      cursor_ = ring_->oldest_seq() - 1;
  }
}

std::unique_ptr<trace_reader_cursor::file_lines>
trace_reader_cursor::open_containing(uint64_t next, const file_lines* exhausted) const {
  // Newest first: FILE, FILE.1, FILE.2, ... as long as each starts before the one after it: a
  // rotated file that starts later is from an earlier run, whose seqs started again at 1.
  // The writer may be rotating meanwhile, renaming FILE.<n-1> to FILE.<n> from the oldest down:
  // where this scan going up crosses it, one name is missing for a moment and the next one is a
  // file already seen under its former name. Neither ends the chain (that would skip the older
  // files' lines as if gone); two missing names in a row do.
  std::vector<std::unique_ptr<file_lines>> chain;
  std::vector<uint64_t> first_seqs;
  const auto seen = [&](const file_lines& f) {
    return std::any_of(chain.begin(), chain.end(),
                       [&](const std::unique_ptr<file_lines>& c) { return c->same_file(f); });
  };
  for (unsigned n = 0, missing = 0; missing < 2; ++n) {
    auto f = file_lines::open(n == 0 ? file_ : rotated_name(file_, n));
    if (!f) {
      ++missing;
      continue;
    }
    missing = 0;
    if (seen(*f))
      continue;
    std::string_view first_line;
    const std::optional<uint64_t> first = f->next(first_line) ? seq_of(first_line) : std::nullopt;
    if (!first)
      continue; // empty: a new FILE with nothing written yet
    if (!first_seqs.empty() && *first >= first_seqs.back())
      break;
    f->first_line = first_line;
    f->has_first = true;
    first_seqs.push_back(*first);
    chain.push_back(std::move(f));
  }
  // The newest file that starts at or before `next`; when that one was read to its end, or none
  // does, the oldest that starts after it: the lines in between are gone.
  std::size_t pick = 0;
  while (pick < chain.size() && first_seqs[pick] > next)
    ++pick;
  const auto usable = [&](std::size_t i) {
    return i < chain.size() && !(exhausted && chain[i]->same_file(*exhausted));
  };
  if (!usable(pick)) {
    if (pick == 0)
      return nullptr;
    --pick;
    if (!usable(pick))
      return nullptr;
  }
  return std::move(chain[pick]);
}

} // namespace nv
