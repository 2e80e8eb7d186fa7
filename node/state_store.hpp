// The daemon's durable desired state (design.md §8 "Persistence"): the deployments it was asked
// to run, their spec text and whether they should run, in an SQLite file (`state_dir/state.db`).
// Every change is one transaction, on disk when the call returns, so that a 2xx answer of the
// control API survives a SIGKILL or a power cut; a change that fails leaves the file as it was.
//
// Calls block until SQLite is done (an fsync per change): call them from the control API's
// HTTP threads, never from a CAF scheduler thread. One internal mutex serializes them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace nv {

enum class desired_state : uint8_t { running, stopped };

// "running" | "stopped", the words of the API's `desired` field and of the file.
std::string_view to_string(desired_state);

struct stored_deployment {
  std::string name;
  std::string spec;      // the text as given (YAML or JSON)
  std::string canonical; // what two specs are compared by (the caller's canonical JSON)
  uint64_t generation = 1;
  desired_state desired = desired_state::running;
  int64_t created_at_us = 0, updated_at_us = 0; // wall clock, microseconds since the epoch
  std::string source;                           // the manifest file that made it; empty: the API
};

// Why a change (or opening the file) was refused; the store's state is then exactly what it was
// before. what() is a sentence for a person: it names the deployment or the file, and for
// `full` and `io` what to do about it.
struct store_error : std::runtime_error {
  enum class kind : uint8_t {
    exists,    // create of a name that is already there
    not_found, // apply, set_desired or remove of a name that is not there
    full,      // the file system (or store_options::max_pages) has no room for the change
    io,        // the file cannot be read or written, is not a state db or is of a newer version
  } why;
  store_error(kind k, const std::string& message) : std::runtime_error(message), why(k) {}
};

struct store_options {
  // A cap on the file's size in pages (SQLite's max_page_count): a disk that fills up, for tests.
  std::optional<uint32_t> max_pages;
};

class state_store {
public:
  // Opens `db`, creating the file (mode 0600) but not its directory. Throws store_error (`io`,
  // or `full`) when the file cannot be opened, is not a state db, or was written by a newer
  // nodevisor.
  explicit state_store(const std::filesystem::path& db, store_options options = {});
  ~state_store();
  state_store(state_store&&) noexcept;
  state_store& operator=(state_store&&) noexcept;

  std::vector<stored_deployment> list() const; // in creation order
  std::optional<stored_deployment> get(std::string_view name) const;

  // Generation 1, desired running. Throws store_error `exists`.
  stored_deployment create(std::string_view name, std::string_view spec, std::string_view canonical,
                           std::string_view source = {});

  // A canonical form different from the stored one raises the generation by one and stores the
  // new text; the same one changes nothing (the row as it is, `changed` false), even when the
  // text differs. The desired state stays as it is. A `source` replaces the stored one without
  // counting as a change; none keeps it. Throws store_error `not_found`.
  struct applied {
    stored_deployment row;
    bool changed = false;
  };
  applied apply(std::string_view name, std::string_view spec, std::string_view canonical,
                std::optional<std::string_view> source = std::nullopt);

  // Keeps the generation; setting the state it already has changes nothing. Throws `not_found`.
  stored_deployment set_desired(std::string_view name, desired_state desired);

  // Throws store_error `not_found`.
  void remove(std::string_view name);

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace nv
