#include "runtimes/oci/image_store.hpp"

#include <algorithm>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <sys/file.h>

#include <nlohmann/json.hpp>

#include "posix/unique_fd.hpp"
#include "runtimes/oci/tool_command.hpp"

namespace nv::oci {

namespace {

constexpr std::string_view transports[] = {"docker://",
                                           "oci:", "oci-archive:", "docker-archive:", "dir:"};

bool has_transport(const std::string& image) {
  return std::any_of(std::begin(transports), std::end(transports),
                     [&image](std::string_view t) { return image.starts_with(t); });
}

// The registry part of a reference: its first component when that names a host.
std::string registry_of(const std::string& image) {
  auto slash = image.find('/');
  if (slash == std::string::npos)
    return "docker.io";
  auto first = image.substr(0, slash);
  bool host = first.find_first_of(".:") != std::string::npos || first == "localhost";
  return host ? first : "docker.io";
}

} // namespace

image_store::image_store(image_store_options options) : options_(std::move(options)) {
  if (options_.unpacked_dir.empty())
    options_.unpacked_dir = options_.dir + ".unpacked";
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path{options_.dir}.parent_path(), ec);
  if (ec)
    throw std::runtime_error("image store " + options_.dir + ": " + ec.message());
  if (!fs::exists(options_.dir + "/index.json")) {
    fs::remove(options_.dir, ec); // umoci makes the directory itself; an empty one is in its way
    auto made = run_tool({"umoci", "init", "--layout", options_.dir}, std::chrono::seconds{30});
    if (!made.ok() && !fs::exists(options_.dir + "/index.json"))
      throw std::runtime_error("image store " + options_.dir + ": umoci init: " + made.reason());
  }
}

std::string image_store::source_of(const std::string& image) {
  return has_transport(image) ? image : "docker://" + image;
}

bool image_store::insecure(const std::string& image) const {
  if (has_transport(image) && !image.starts_with("docker://"))
    return false;
  auto name = image.starts_with("docker://") ? image.substr(9) : image;
  auto registry = registry_of(name);
  auto host = registry.substr(0, registry.rfind(':') == std::string::npos || registry[0] == '['
                                     ? registry.size()
                                     : registry.rfind(':'));
  if (host == "localhost" || host.starts_with("127.") || host == "[::1]")
    return true;
  return std::find(options_.insecure.begin(), options_.insecure.end(), registry) !=
         options_.insecure.end();
}

namespace {

nlohmann::json read_json(const std::string& path) {
  std::ifstream in{path};
  return nlohmann::json::parse(in, nullptr, false);
}

// A blob of the layout by its digest ("sha256:...").
std::string blob_path(const std::string& dir, const std::string& digest) {
  auto colon = digest.find(':');
  return colon == std::string::npos
             ? std::string{}
             : dir + "/blobs/" + digest.substr(0, colon) + "/" + digest.substr(colon + 1);
}

// The manifest descriptor tagged `image` in the layout's index; null when there is none.
nlohmann::json descriptor_of(const std::string& dir, const std::string& image) {
  auto index = read_json(dir + "/index.json");
  if (index.is_discarded())
    return nullptr;
  for (const auto& m : index.value("manifests", nlohmann::json::array()))
    if (m.contains("annotations") &&
        m["annotations"].value("org.opencontainers.image.ref.name", "") == image)
      return m;
  return nullptr;
}

} // namespace

bool image_store::has(const std::string& image) const {
  std::lock_guard copying{skopeo_}; // a copy rewrites the index
  return !descriptor_of(options_.dir, image).is_null();
}

std::optional<image_store::platform> image_store::platform_of(const std::string& image) const {
  std::lock_guard copying{skopeo_};
  auto descriptor = descriptor_of(options_.dir, image);
  if (descriptor.is_null())
    return std::nullopt;
  auto manifest = read_json(blob_path(options_.dir, descriptor.value("digest", "")));
  if (manifest.is_discarded() || !manifest.contains("config"))
    return std::nullopt;
  auto config = read_json(blob_path(options_.dir, manifest["config"].value("digest", "")));
  if (config.is_discarded())
    return std::nullopt;
  return platform{config.value("os", ""), config.value("architecture", "")};
}

std::optional<std::string> image_store::unpacked(const std::string& image, std::string& error) {
  std::string digest;
  {
    std::lock_guard copying{skopeo_};
    digest = descriptor_of(options_.dir, image).value("digest", "");
  }
  if (digest.empty()) {
    error = "not in the image store";
    return std::nullopt;
  }
  auto dir = options_.unpacked_dir + "/" + digest.substr(digest.find(':') + 1);
  std::lock_guard lock{unpacking_};
  namespace fs = std::filesystem;
  if (fs::exists(dir + "/config.json"))
    return dir;
  auto temp = dir + ".partial";
  std::error_code ec;
  fs::remove_all(temp, ec);
  fs::create_directories(options_.unpacked_dir, ec);
  auto done =
      run_tool({"umoci", "unpack", "--image", umoci_ref(image), temp}, std::chrono::minutes{10});
  if (!done.ok()) {
    fs::remove_all(temp, ec);
    error = done.reason();
    return std::nullopt;
  }
  fs::rename(temp, dir, ec); // complete, or not there at all
  if (ec) {
    error = dir + ": " + ec.message();
    return std::nullopt;
  }
  return dir;
}

std::optional<std::string> image_store::pull(const std::string& image, pull_policy pull) {
  if (pull == pull_policy::never)
    return has(image)
               ? std::nullopt
               : std::optional<std::string>{"not in the node's image store (" + options_.dir +
                                            ") and pull_policy is never: copy it there "
                                            "first, or allow a pull"};
  if (pull == pull_policy::if_not_present && has(image))
    return std::nullopt;
  std::shared_ptr<flight> mine;
  {
    std::unique_lock lock{mu_};
    if (auto it = flights_.find(image); it != flights_.end()) {
      auto theirs = it->second; // one pull of it is under way: its outcome is ours
      landed_.wait(lock, [&theirs] { return theirs->done; });
      return theirs->error;
    }
    mine = std::make_shared<flight>();
    flights_.emplace(image, mine);
  }
  auto error = copy(image);
  std::lock_guard lock{mu_};
  mine->done = true;
  mine->error = error;
  flights_.erase(image);
  landed_.notify_all();
  return error;
}

std::optional<std::string> image_store::copy(const std::string& image) {
  std::vector<std::string> argv{"skopeo", "copy", "--quiet"};
  if (insecure(image))
    argv.emplace_back("--src-tls-verify=false");
  argv.push_back(source_of(image));
  argv.push_back("oci:" + options_.dir + ":" + image);
  std::lock_guard copying{skopeo_};
  // Another nodevisor on this state directory (a run beside the daemon) copies into it too.
  unique_fd lock{::open((options_.dir + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)};
  if (lock)
    ::flock(lock.get(), LOCK_EX);
  auto done = run_tool(argv, options_.pull_timeout);
  if (done.ok())
    return std::nullopt;
  return "skopeo copy from " + source_of(image) + ": " + done.reason();
}

} // namespace nv::oci
