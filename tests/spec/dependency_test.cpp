#include <gtest/gtest.h>

#include "spec/dependency_graph.hpp"
#include "spec_test_util.hpp"

using namespace nv;
using namespace nv::spec;
using namespace nv::spec::test;

namespace {

std::vector<std::string> names_in_start_order(const deployment_spec& spec) {
  std::vector<std::string> out;
  for (auto i : start_order(spec))
    out.push_back(spec.services[i].name);
  return out;
}

service_spec service(std::string name, std::vector<std::string> depends = {}) {
  service_spec s;
  s.name = std::move(name);
  for (auto& d : depends)
    s.depends.push_back({std::move(d)});
  return s;
}

} // namespace

TEST(StartOrder, DependenciesFirstAndFileOrderAmongIndependents) {
  auto result = load_yaml(R"(version: v1
deployment: ordered
services:
  web: {image: {name: w}, depends: [{service: api}]}
  api: {image: {name: a}, depends: [{service: db}, {service: cache}]}
  metrics: {image: {name: m}}
  cache: {image: {name: c}}
  db: {image: {name: d}}
  worker: {image: {name: k}, depends: [{service: db}]}
)");
  ASSERT_TRUE(result.spec) << testing::PrintToString(printed(result));
  EXPECT_EQ(names_in_start_order(*result.spec),
            (std::vector<std::string>{"metrics", "cache", "db", "api", "web", "worker"}));
}

TEST(StartOrder, WithoutDependenciesIsFileOrder) {
  deployment_spec spec;
  for (auto name : {"c", "a", "b"})
    spec.services.push_back(service(name));
  EXPECT_EQ(names_in_start_order(spec), (std::vector<std::string>{"c", "a", "b"}));
}

TEST(StartOrder, LeavesOutServicesOnACycle) {
  deployment_spec spec;
  spec.services = {service("a", {"b"}), service("b", {"a"}), service("c"), service("d", {"a"})};
  EXPECT_EQ(names_in_start_order(spec), (std::vector<std::string>{"c"}));
}
