#include "node/manifests.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>

#include "node/controller.hpp"
#include "posix/dir_watch.hpp"

namespace nv {

namespace {

std::string message_of(const api_answer& a) {
  if (a.body.is_object() && a.body.contains("error"))
    return a.body["error"].value("message", "");
  return "HTTP " + std::to_string(a.status);
}

} // namespace

manifest_dir::manifest_dir(controller& ctl, std::filesystem::path dir)
    : ctl_{ctl}, dir_{std::filesystem::absolute(dir).lexically_normal()} {
  dir_watch_handlers h;
  h.on_change = [this](const std::filesystem::path& f) { apply(f); };
  h.on_remove = [this](const std::filesystem::path& f) { remove(f); };
  h.on_overflow = [this] {
    spdlog::warn("[/] manifests {}: too many changes at once; reading the directory again",
                 dir_.string());
    for (auto& f : scan_manifests(dir_))
      apply(f);
  };
  h.on_gone = [this] {
    spdlog::error("[/] manifests {}: the directory is gone; its deployments stay as they are, "
                  "and nothing is watched any more",
                  dir_.string());
  };
  std::string error;
  // Watching first, then the scan: a file written in between is seen at least once.
  watch_ = dir_watch::start(dir_, std::move(h), error);
  if (!watch_)
    spdlog::error("[/] manifests: {}", error);
  // What the files of this directory made before this start, the store says: a file removed
  // meanwhile deletes its deployment now, one that names another deployment deletes the old one.
  {
    std::lock_guard<std::mutex> g{mu_};
    for (auto& row : ctl_.stored())
      if (!row.source.empty() && std::filesystem::path{row.source}.parent_path() == dir_)
        deployment_of_[row.source] = row.name;
  }
  auto files = scan_manifests(dir_);
  for (auto& f : files)
    apply(f);
  std::vector<std::filesystem::path> gone;
  {
    std::lock_guard<std::mutex> g{mu_};
    for (auto& [file, name] : deployment_of_)
      if (std::find(files.begin(), files.end(), file) == files.end() &&
          !std::filesystem::exists(file))
        gone.push_back(file);
  }
  for (auto& file : gone)
    remove(file);
}

manifest_dir::~manifest_dir() {
  if (watch_)
    watch_->stop();
}

void manifest_dir::apply(const std::filesystem::path& file) {
  std::ifstream in{file, std::ios::binary};
  if (!in) {
    spdlog::warn("[/] manifest {}: cannot be read", file.string());
    return;
  }
  std::ostringstream text;
  text << in.rdbuf();
  std::lock_guard<std::mutex> g{mu_};
  auto answer = ctl_.deploy(text.str(), false, file.string(), file.string());
  if (answer.status >= 300) {
    // The deployment keeps the last spec that was good, as kubelet does with a bad static pod.
    spdlog::error("[/] manifest {} not applied:\n{}", file.string(), message_of(answer));
    return;
  }
  auto name = answer.body.value("name", std::string{});
  auto& known = deployment_of_[file];
  if (!known.empty() && known != name) {
    // The file now names another deployment: the one it made before goes with the old text.
    spdlog::info("[/] manifest {} now names '{}': deleting '{}'", file.string(), name, known);
    ctl_.remove(known);
  }
  known = name;
  spdlog::info("[/{}] manifest {} applied (generation {})", name, file.string(),
               answer.body.value("generation", uint64_t{0}));
}

void manifest_dir::remove(const std::filesystem::path& file) {
  std::lock_guard<std::mutex> g{mu_};
  auto it = deployment_of_.find(file);
  if (it == deployment_of_.end())
    return;
  spdlog::info("[/{}] manifest {} removed: deleting the deployment", it->second, file.string());
  auto answer = ctl_.remove(it->second);
  if (answer.status >= 300 && answer.status != 404)
    spdlog::error("[/{}] {}", it->second, message_of(answer));
  deployment_of_.erase(it);
}

} // namespace nv
