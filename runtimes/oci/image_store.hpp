// The node's images: one OCI image layout under `<state_dir>/images`, written by `skopeo copy`,
// in which every image is a tag named by its reference and every layer a blob shared by the
// images that have it (the layout is content-addressed). Pulls of one reference at a time share
// one copy; skopeo runs one at a time, since two copies into one layout would race on its index.
// Calls block: make them on a job thread.
#pragma once

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "messages/container_spec.hpp"

namespace nv::oci {

struct image_store_options {
  std::string dir;                   // the layout
  std::vector<std::string> insecure; // registries (host[:port]) spoken to over plain HTTP
  std::chrono::milliseconds pull_timeout{std::chrono::minutes{10}};
  // Each image unpacked once, by its manifest's digest, for containers to overlay; empty:
  // `<dir>.unpacked`.
  std::string unpacked_dir{};
};

class image_store {
public:
  // Creates the layout if missing; throws std::runtime_error with the reason otherwise.
  explicit image_store(image_store_options options);

  // Makes `image` present as `pull` asks. nullopt when it is; else why not, in skopeo's words.
  std::optional<std::string> pull(const std::string& image, pull_policy pull);
  bool has(const std::string& image) const;
  // The OS and architecture the image's config names ("linux", "amd64"); nullopt when the image
  // is not in the store or its config cannot be read.
  struct platform {
    std::string os, arch;
  };
  std::optional<platform> platform_of(const std::string& image) const;
  // The `--image` argument for umoci: the layout and the image's tag in it.
  std::string umoci_ref(const std::string& image) const { return options_.dir + ":" + image; }
  const std::string& dir() const { return options_.dir; }
  // The image unpacked once (umoci unpack): a directory with its rootfs/ and the config.json
  // umoci made from the image's config, shared read-only by every container of that image
  // version. nullopt, with `error`, when it cannot be unpacked.
  std::optional<std::string> unpacked(const std::string& image, std::string& error);

  // Where skopeo copies `image` from: a reference with a transport (oci:, oci-archive:,
  // docker-archive:, docker://) as written, any other one from its registry.
  static std::string source_of(const std::string& image);
  // A registry on a loopback address is spoken to over plain HTTP, as Docker does.
  bool insecure(const std::string& image) const;

private:
  struct flight {
    bool done = false;
    std::optional<std::string> error;
  };

  std::optional<std::string> copy(const std::string& image);

  image_store_options options_;
  mutable std::mutex mu_;
  std::condition_variable landed_;
  std::map<std::string, std::shared_ptr<flight>> flights_; // pulls under way, by reference
  std::mutex unpacking_;                                   // one unpack into the cache at a time
  mutable std::mutex skopeo_; // one copy into the layout at a time (and a file lock for others)
};

} // namespace nv::oci
