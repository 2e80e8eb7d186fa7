// What a daemon that starts takes back from the notes the one before it left: a job completed
// as the same replica stays completed, also when that daemon noted the replica's canonical text
// where this one keeps its digest; a changed replica runs again.
#include <map>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "actors/restart_memory.hpp"
#include "messages/digest.hpp"

using namespace nv;

namespace {

const std::string canonical = R"({"command":{"entrypoint":["/bin/migrate"]},"image":"x"})";

// One deployment "d" with a service "s" of one replica whose fingerprint is the digest above.
deployment_plan plan_with_one_job() {
  container_config c;
  c.spec.deployment = "d";
  c.spec.service = "s";
  c.spec.id = "s-rep-1";
  c.job = true;
  c.fingerprint = text_digest(canonical);
  c.history = std::make_shared<restart_history>();
  service_plan s;
  s.name = "s";
  s.replicas.push_back(std::make_shared<const container_config>(std::move(c)));
  deployment_plan p;
  p.name = "d";
  p.services.push_back(std::move(s));
  return p;
}

bool completed_before(const std::string& noted) {
  auto plan = plan_with_one_job();
  std::map<std::string, std::string> memory{
      {"/d/s/s-rep-1", nlohmann::json{{"restarts", 0}, {"completed", noted}}.dump()}};
  recall(plan, memory, caf::actor_clock::clock_type::now());
  return plan.services[0].replicas[0]->history->completed_before;
}

TEST(restart_memory, a_job_noted_with_its_digest_stays_completed) {
  EXPECT_TRUE(completed_before(text_digest(canonical)));
}

TEST(restart_memory, a_job_noted_by_a_daemon_that_kept_the_text_stays_completed) {
  EXPECT_TRUE(completed_before(canonical));
}

TEST(restart_memory, a_job_completed_as_another_replica_runs_again) {
  EXPECT_FALSE(completed_before(text_digest(canonical + " ")));
  EXPECT_FALSE(completed_before(canonical + " "));
  EXPECT_FALSE(completed_before(""));
}

} // namespace
