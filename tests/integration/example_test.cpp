// The README's first command: examples/web-stack.yaml is valid and becomes healthy, run as its
// header says (the demo server on PATH).
#include <cstdlib>
#include <string>

#include "tests/integration/nodevisor_process.hpp"

using namespace nv_test;

namespace {

TEST_F(Run, TheExampleIsValidAndBecomesHealthy) {
  const std::string example = NV_SOURCE_DIR "/examples/web-stack.yaml";
  {
    nodevisor_process validate{{"validate", example}};
    ASSERT_EQ(validate.wait_exit(), 0) << validate.stdout_text << validate.stderr_text;
  }
  std::string demo_dir = NV_DEMO;
  demo_dir = demo_dir.substr(0, demo_dir.rfind('/'));
  const char* path = std::getenv("PATH");
  setenv("PATH", (demo_dir + ":" + (path ? path : "/usr/bin:/bin")).c_str(), 1);
  nodevisor_process nv{{"run", example, "--until", "healthy", "--trace", trace_path()}};
  EXPECT_EQ(nv.wait_exit(120s), 0) << nv.stdout_text << nv.stderr_text;
  EXPECT_NE(nv.stdout_text.find("/web-stack: healthy"), std::string::npos) << nv.stdout_text;
  // The api replicas are probed at their own ports, so both are healthy.
  EXPECT_NE(first("/web-stack/api/api-rep-2", "state", "healthy"), 0u);
}

} // namespace
