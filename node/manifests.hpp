// `--manifests DIR` (design.md §8), like kubelet's static pods: every *.yaml / *.yml / *.json
// file there is a deployment, applied at start and whenever it changes, compared by content (the
// store's canonical form), so rewriting a file with the same spec changes nothing. Removing the
// file deletes its deployment. The watcher's own thread does the applies: they block on the
// store and on the node's answer, which no CAF thread may.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

namespace nv {

class controller;
class dir_watch;

class manifest_dir {
public:
  manifest_dir(controller& ctl, std::filesystem::path dir);
  ~manifest_dir(); // stops watching; deployments stay as they are

private:
  void apply(const std::filesystem::path& file);
  void remove(const std::filesystem::path& file);

  controller& ctl_;
  std::filesystem::path dir_;
  std::mutex mu_;
  std::map<std::filesystem::path, std::string> deployment_of_; // file -> the deployment it made
  std::unique_ptr<dir_watch> watch_;
};

} // namespace nv
