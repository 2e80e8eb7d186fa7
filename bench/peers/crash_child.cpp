// The crash-loop child: records that it was started, then exits 1 at once.
//
//   crash_child FILE
//
// Appends one line "<CLOCK_MONOTONIC ns>\n" to FILE. A start this short cannot be caught by
// polling /proc, so each start leaves its own timestamp. O_APPEND with one write() per line
// keeps the lines whole even if two starts overlap. The monotonic clock is the one the
// benchmark's steady_clock reads, so times compare with the supervisor's launch directly.
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc != 2)
    return 2;
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[32];
  int len = std::snprintf(line, sizeof line, "%lld\n",
                          static_cast<long long>(ts.tv_sec) * 1'000'000'000LL + ts.tv_nsec);
  int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd >= 0) {
    if (write(fd, line, static_cast<std::size_t>(len)) != len)
      return 3;
    close(fd);
  }
  return 1;
}
