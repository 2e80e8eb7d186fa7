// docs/spec.md names every field the loader accepts. The list comes from the reader itself: the
// key tables read_fields uses to reject unknown keys, recorded while it reads a spec that visits
// every object and every variant (each check type, init action and scale mode). A field added
// to any of those tables and not to the doc fails this test.
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "spec/document.hpp"
#include "spec/field_reader.hpp"
#include "spec/spec_reader.hpp"
#include "spec_test_util.hpp"

using namespace nv::spec;

namespace {

// Visits every object of the schema. A new object needs a line here; a new key in an existing
// object is picked up on its own.
constexpr std::string_view every_object = R"(version: v1
deployment: docs
supervision: {backoff: {}}
services:
  a:
    image: {name: a}
    command: {}
    env: {}
    scale: {mode: fixed, replicas: 1}
    platform: {os: linux}
    restart_policy: {kind: always}
    resources: {}
    health: {check: {type: tcp, port: 1}}
    depends: [{service: b}]
    init:
      steps:
        - {id: t, uses: init.wait_tcp, with: {host: h, port: 1}}
        - {id: h, uses: init.wait_http, with: {url: "http://h/"}}
        - {id: r, uses: init.run, with: {command: "true"}}
    errors: {on_init_failure: {}, on_panic: {}}
    supervision: {backoff: {}}
    sim: {}
  b:
    image: {name: b}
    scale: {mode: adaptive, min: 1}
    health: {check: {type: http, url: "http://h/"}}
  c:
    image: {name: c}
    scale: {mode: manual}
    health: {check: {type: command, command: "true"}}
)";

// "services.a.depends[0].service" -> "services.*.depends[].service"
std::string generic(const std::string& path) {
  static const std::regex service{R"(^services\.[^.\[]+)"};
  static const std::regex index{R"(\[[0-9]+\])"};
  return std::regex_replace(std::regex_replace(path, service, "services.*"), index, "[]");
}

std::string doc_text() {
  auto path = std::filesystem::path{NV_SOURCE_DIR} / "docs" / "spec.md";
  std::ifstream in{path};
  EXPECT_TRUE(in) << path << " cannot be read";
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> generic_paths(const std::vector<std::string>& paths) {
  std::set<std::string> out;
  for (const auto& p : paths)
    out.insert(generic(p));
  return out;
}

} // namespace

TEST(SpecDoc, NamesEveryFieldTheLoaderAccepts) {
  reader r;
  r.file = "docs.yaml";
  reader::known_fields schema;
  r.schema = &schema;
  std::vector<problem> syntax;
  auto root = parse_yaml(every_object, r.file, syntax);
  ASSERT_TRUE(root && syntax.empty());
  read_deployment(r, *root);
  ASSERT_EQ(r.errors, 0u) << testing::PrintToString(r.problems.empty() ? problem{}
                                                                       : r.problems.front());

  auto acted_on = generic_paths(schema.acted_on);
  auto not_acted_on = generic_paths(schema.not_acted_on);
  // The recording itself works: a test that finds no field could never fail.
  ASSERT_TRUE(acted_on.contains("services.*.health.check.url"));
  ASSERT_TRUE(acted_on.contains("services.*.init.steps[].with.host"));
  ASSERT_TRUE(acted_on.contains("supervision.backoff.reset_after"));
  ASSERT_TRUE(not_acted_on.contains("services.*.network"));
  ASSERT_GT(acted_on.size(), 60u);

  auto doc = doc_text();
  for (const auto& path : acted_on)
    EXPECT_NE(doc.find("`" + path + "`"), std::string::npos)
        << "docs/spec.md does not name `" << path << "`, a field the loader reads";
  for (const auto& path : not_acted_on)
    EXPECT_NE(doc.find("`" + path + "`"), std::string::npos)
        << "docs/spec.md does not name `" << path
        << "`, a ZLayer field the loader accepts with a warning";
}
