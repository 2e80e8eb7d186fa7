#include <chrono>
#include <csignal>
#include <cstdio>
#include <malloc.h>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include <caf/all.hpp>
#include <gtest/gtest.h>

#include "messages/caf/register_types.hpp"
#include "runtimes/sim/sim_runtime.hpp"
#include "tests/runtimes/runtime_replies.hpp"

using namespace nv;
using namespace nv::runtime_test;
using namespace std::chrono_literals;

namespace {

// No deployment: a runtime driven alone keys each container by its replica id.
container_spec spec(const std::string& id, sim_behavior sim = {}) {
  container_spec s;
  s.service = "api";
  s.id = id;
  s.image = "nginx:latest";
  s.options = std::move(sim);
  return s;
}

// Bytes of heap in use; nothing under ASan, whose allocator mallinfo2 does not see.
std::optional<std::size_t> heap_in_use() {
#ifdef __SANITIZE_ADDRESS__
  return std::nullopt;
#else
  return mallinfo2().uordblks;
#endif
}

// Counts replies, and reports the number of failed ones to `done` once `expected` arrived.
caf::behavior reply_counter(caf::event_based_actor* self, std::size_t expected, caf::actor done) {
  auto seen = std::make_shared<std::size_t>(0);
  auto failed = std::make_shared<std::size_t>(0);
  return {[=](const runtime_reply& r) {
            *failed += r.ok ? 0 : 1;
            if (++*seen == expected)
              self->send(done, *failed);
          },
          [](const container_exited&) {}, [](const exec_result&) {}};
}

class sim_runtime_test : public ::testing::Test {
protected:
  // Destroyed in reverse: the runtime (and its timer thread) goes before the actor system
  // it sends into.
  config cfg;
  caf::actor_system sys{cfg};
  sim_runtime rt;
};

TEST_F(sim_runtime_test, happy_path_create_start_exec_stop_remove) {
  caf::scoped_actor self{sys};
  const std::string id = "api-rep-1";
  rt.pull(spec(id), self);
  take_ok(self, runtime_op::pull, id);
  rt.create(spec(id), self);
  take_ok(self, runtime_op::create, id);
  EXPECT_EQ(rt.state(id).state, container_state::created);

  rt.start(id, self);
  auto pid = take_ok(self, runtime_op::start, id);
  EXPECT_GT(pid, 0);
  auto st = rt.state(id);
  EXPECT_EQ(st.state, container_state::running);
  EXPECT_EQ(st.pid, pid);
  EXPECT_TRUE(st.healthy);
  EXPECT_EQ(rt.pid(id), pid);

  rt.exec(id, 1, {"true"}, 1s, self);
  auto ex = take<exec_result>(self);
  EXPECT_EQ(ex.id, id);
  EXPECT_EQ(ex.exec_id, 1u);
  EXPECT_EQ(ex.code, 0);

  // The exit comes first, then the stop's reply.
  rt.stop(id, 10s, SIGTERM, self);
  take_exit(self, id, 128 + SIGTERM, SIGTERM);
  take_ok(self, runtime_op::stop, id);
  st = rt.state(id);
  EXPECT_EQ(st.state, container_state::exited);
  EXPECT_EQ(st.exit_code, 128 + SIGTERM);
  EXPECT_EQ(rt.pid(id), std::nullopt);
  auto lines = rt.logs(id, 100);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "created");
  EXPECT_EQ(lines.back(), "exited with code 143");
  EXPECT_EQ(rt.logs(id, 1), std::vector<std::string>{"exited with code 143"});

  // Stopping an exited container is a no-op that succeeds, with no second exit.
  rt.stop(id, 10s, SIGTERM, self);
  take_ok(self, runtime_op::stop, id);

  rt.remove(id, self);
  take_ok(self, runtime_op::remove, id);
  EXPECT_EQ(rt.state(id).state, container_state::unknown);
  EXPECT_EQ(rt.size(), 0u);
}

TEST_F(sim_runtime_test, pids_are_unique) {
  caf::scoped_actor self{sys};
  rt.create(spec("a-rep-1"), self);
  rt.create(spec("a-rep-2"), self);
  take_ok(self, runtime_op::create, "a-rep-1");
  take_ok(self, runtime_op::create, "a-rep-2");
  rt.start("a-rep-1", self);
  auto p1 = take_ok(self, runtime_op::start, "a-rep-1");
  rt.start("a-rep-2", self);
  auto p2 = take_ok(self, runtime_op::start, "a-rep-2");
  EXPECT_NE(p1, p2);
}

TEST_F(sim_runtime_test, fail_pull_reports_pull_failed) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.fail_pull = "registry unreachable";
  rt.pull(spec("api-rep-1", b), self);
  auto err = take_error(self, runtime_op::pull);
  EXPECT_EQ(err, (AgentError{PullFailed{"nginx:latest", "registry unreachable"}}));
  EXPECT_EQ(to_string(err), "Failed to pull image 'nginx:latest': registry unreachable");
}

TEST_F(sim_runtime_test, fail_create_reports_create_failed_and_keeps_nothing) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.fail_create = "bundle missing";
  rt.create(spec("api-rep-2", b), self);
  auto err = take_error(self, runtime_op::create);
  EXPECT_EQ(err, (AgentError{CreateFailed{"api-rep-2", "bundle missing"}}));
  EXPECT_EQ(to_string(err), "Failed to create container 'api-rep-2': bundle missing");
  EXPECT_EQ(rt.size(), 0u);
}

TEST_F(sim_runtime_test, fail_start_reports_start_failed_with_log_line) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.fail_start = "exec: no such file";
  rt.create(spec("db-rep-1", b), self);
  take_ok(self, runtime_op::create, "db-rep-1");
  rt.start("db-rep-1", self);
  auto err = take_error(self, runtime_op::start);
  EXPECT_EQ(err, (AgentError{StartFailed{"db-rep-1", "exec: no such file"}}));
  EXPECT_EQ(to_string(err), "Failed to start container 'db-rep-1': exec: no such file");
  EXPECT_EQ(rt.state("db-rep-1").state, container_state::created);
  EXPECT_EQ(rt.logs("db-rep-1", 1), std::vector<std::string>{"start failed: exec: no such file"});
}

TEST_F(sim_runtime_test, duplicate_create_and_second_start_fail) {
  caf::scoped_actor self{sys};
  rt.create(spec("api-rep-1"), self);
  take_ok(self, runtime_op::create, "api-rep-1");
  rt.create(spec("api-rep-1"), self);
  EXPECT_TRUE(std::holds_alternative<CreateFailed>(take_error(self, runtime_op::create)));
  rt.start("api-rep-1", self);
  take_ok(self, runtime_op::start, "api-rep-1");
  rt.start("api-rep-1", self);
  EXPECT_TRUE(std::holds_alternative<StartFailed>(take_error(self, runtime_op::start)));
}

TEST_F(sim_runtime_test, start_delay_answers_later_and_stop_while_starting_fails_the_start) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.start_delay = 30ms;
  rt.create(spec("slow-rep-1", b), self);
  take_ok(self, runtime_op::create, "slow-rep-1");
  auto t0 = sim_clock::now();
  rt.start("slow-rep-1", self);
  take_ok(self, runtime_op::start, "slow-rep-1");
  EXPECT_GE(sim_clock::now() - t0, 30ms); // a timer never fires early
  EXPECT_EQ(rt.state("slow-rep-1").state, container_state::running);

  // Far from its start deadline: the stop decides, the start fails, nothing ran, no exit.
  b.start_delay = 1h;
  rt.create(spec("slow-rep-2", b), self);
  take_ok(self, runtime_op::create, "slow-rep-2");
  rt.start("slow-rep-2", self);
  rt.stop("slow-rep-2", 1s, SIGTERM, self);
  auto err = take_error(self, runtime_op::start);
  EXPECT_EQ(err, (AgentError{StartFailed{"slow-rep-2", "stopped before it was running"}}));
  take_ok(self, runtime_op::stop, "slow-rep-2");
  EXPECT_EQ(rt.state("slow-rep-2").state, container_state::exited);
}

TEST_F(sim_runtime_test, exit_after_delivers_container_exited_with_the_code) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.exit_after = 50ms;
  b.exit_code = 3;
  rt.create(spec("job-rep-1", b), self);
  take_ok(self, runtime_op::create, "job-rep-1");
  rt.start("job-rep-1", self);
  take_ok(self, runtime_op::start, "job-rep-1");
  take_exit(self, "job-rep-1", 3, 0);
  auto st = rt.state("job-rep-1");
  EXPECT_EQ(st.state, container_state::exited);
  EXPECT_EQ(st.exit_code, 3);
  EXPECT_EQ(rt.counts().exited, 1u);
}

TEST_F(sim_runtime_test, zero_exit_after_exits_right_after_the_start_reply) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.exit_after = 0s;
  b.exit_code = 0;
  rt.create(spec("job-rep-1", b), self);
  take_ok(self, runtime_op::create, "job-rep-1");
  rt.start("job-rep-1", self);
  take_ok(self, runtime_op::start, "job-rep-1");
  take_exit(self, "job-rep-1", 0, 0);
}

TEST_F(sim_runtime_test, hang_on_stop_is_killed_at_the_grace_deadline) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.hang_on_stop = true;
  rt.create(spec("stuck-rep-1", b), self);
  take_ok(self, runtime_op::create, "stuck-rep-1");
  rt.start("stuck-rep-1", self);
  take_ok(self, runtime_op::start, "stuck-rep-1");
  auto t0 = sim_clock::now();
  rt.stop("stuck-rep-1", 100ms, SIGTERM, self);
  take_exit(self, "stuck-rep-1", 137, SIGKILL);
  take_ok(self, runtime_op::stop, "stuck-rep-1");
  EXPECT_GE(sim_clock::now() - t0, 100ms);
  EXPECT_EQ(rt.state("stuck-rep-1").exit_code, 137);
  EXPECT_EQ(rt.logs("stuck-rep-1", 2),
            (std::vector<std::string>{"received signal 9", "exited with code 137"}));
}

TEST_F(sim_runtime_test, hanging_container_is_stopping_until_it_exits) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.hang_on_stop = true;
  rt.create(spec("stuck-rep-1", b), self);
  take_ok(self, runtime_op::create, "stuck-rep-1");
  rt.start("stuck-rep-1", self);
  take_ok(self, runtime_op::start, "stuck-rep-1");
  rt.stop("stuck-rep-1", 1h, SIGTERM, self);
  EXPECT_EQ(rt.state("stuck-rep-1").state, container_state::stopping);
  EXPECT_EQ(rt.counts().stopping, 1u);
  // A second stop kills at once; both stops are answered after the exit.
  rt.stop("stuck-rep-1", 1h, SIGTERM, self);
  take_exit(self, "stuck-rep-1", 137, SIGKILL);
  take_ok(self, runtime_op::stop, "stuck-rep-1");
  take_ok(self, runtime_op::stop, "stuck-rep-1");

  // A crash while stopping ends the stop too.
  rt.create(spec("stuck-rep-2", b), self);
  take_ok(self, runtime_op::create, "stuck-rep-2");
  rt.start("stuck-rep-2", self);
  take_ok(self, runtime_op::start, "stuck-rep-2");
  rt.stop("stuck-rep-2", 1h, SIGTERM, self);
  EXPECT_TRUE(rt.crash("stuck-rep-2", 1));
  take_exit(self, "stuck-rep-2", 1, 0);
  take_ok(self, runtime_op::stop, "stuck-rep-2");
}

TEST_F(sim_runtime_test, remove_cancels_a_pending_exit_even_when_recreated) {
  caf::scoped_actor self{sys};
  const std::string id = "job-rep-1";
  sim_behavior b;
  b.exit_after = 100ms;
  b.exit_code = 1;
  rt.create(spec(id, b), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  rt.remove(id, self);
  take_ok(self, runtime_op::remove, id);
  // The same id again, without an exit: the old timer must not touch it.
  rt.create(spec(id), self);
  take_ok(self, runtime_op::create, id);
  rt.start(id, self);
  take_ok(self, runtime_op::start, id);
  auto m = next(self, 400ms); // 300 ms past the removed container's exit time
  EXPECT_TRUE(std::holds_alternative<std::monostate>(m)) << "message kind " << m.index();
  EXPECT_EQ(rt.state(id).state, container_state::running);
}

TEST_F(sim_runtime_test, remove_answers_a_pending_start) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.start_delay = 1h;
  rt.create(spec("slow-rep-1", b), self);
  take_ok(self, runtime_op::create, "slow-rep-1");
  rt.start("slow-rep-1", self);
  rt.remove("slow-rep-1", self);
  auto err = take_error(self, runtime_op::start);
  EXPECT_EQ(err, (AgentError{StartFailed{"slow-rep-1", "removed before it was running"}}));
  take_ok(self, runtime_op::remove, "slow-rep-1");
}

TEST_F(sim_runtime_test, unhealthy_after_flips_health_and_exec_code) {
  caf::scoped_actor self{sys};
  sim_behavior b;
  b.unhealthy_after = 1h;
  rt.create(spec("api-rep-1", b), self);
  b.unhealthy_after = 20ms;
  rt.create(spec("api-rep-2", b), self);
  take_ok(self, runtime_op::create, "api-rep-1");
  take_ok(self, runtime_op::create, "api-rep-2");
  rt.start("api-rep-1", self);
  take_ok(self, runtime_op::start, "api-rep-1");
  rt.start("api-rep-2", self);
  take_ok(self, runtime_op::start, "api-rep-2");

  EXPECT_TRUE(rt.state("api-rep-1").healthy);
  rt.exec("api-rep-1", 2, {"sh", "-c", "true"}, 1s, self);
  EXPECT_EQ(take<exec_result>(self).code, 0);

  auto deadline = sim_clock::now() + 5s;
  while (rt.state("api-rep-2").healthy && sim_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  EXPECT_FALSE(rt.state("api-rep-2").healthy);
  EXPECT_EQ(rt.state("api-rep-2").state, container_state::running);
  rt.exec("api-rep-2", 3, {"sh", "-c", "true"}, 1s, self);
  auto ex = take<exec_result>(self);
  EXPECT_EQ(ex.id, "api-rep-2");
  EXPECT_EQ(ex.exec_id, 3u);
  EXPECT_EQ(ex.code, 1);
}

TEST_F(sim_runtime_test, execs_out_at_once_are_answered_each_with_its_own_id) {
  caf::scoped_actor self{sys};
  sim_behavior sick;
  sick.unhealthy_after = 0s;
  rt.create(spec("api-rep-1"), self);
  rt.create(spec("api-rep-2", sick), self);
  take_ok(self, runtime_op::create, "api-rep-1");
  take_ok(self, runtime_op::create, "api-rep-2");
  rt.start("api-rep-1", self);
  take_ok(self, runtime_op::start, "api-rep-1");
  rt.start("api-rep-2", self);
  take_ok(self, runtime_op::start, "api-rep-2");
  // Two execs into one container and one into ansecond, all sent before any answer is read.
  rt.exec("api-rep-1", 7, {"true"}, 1s, self);
  rt.exec("api-rep-2", 8, {"true"}, 1s, self);
  rt.exec("api-rep-1", 9, {"true"}, 1s, self);
  auto first = take<exec_result>(self);
  auto second = take<exec_result>(self);
  auto third = take<exec_result>(self);
  EXPECT_EQ(first.exec_id, 7u);
  EXPECT_EQ(first.code, 0);
  EXPECT_EQ(second.exec_id, 8u);
  EXPECT_EQ(second.id, "api-rep-2");
  EXPECT_EQ(second.code, 1);
  EXPECT_EQ(third.exec_id, 9u);
  EXPECT_EQ(third.code, 0);
}

TEST_F(sim_runtime_test, crash_exits_a_running_container_now) {
  caf::scoped_actor self{sys};
  std::vector<std::string> ids{"w-rep-1", "w-rep-2", "w-rep-3"};
  for (const auto& id : ids) {
    rt.create(spec(id), self);
    take_ok(self, runtime_op::create, id);
    rt.start(id, self);
    take_ok(self, runtime_op::start, id);
  }
  EXPECT_TRUE(rt.crash("w-rep-1", 42));
  take_exit(self, "w-rep-1", 42, 0);
  EXPECT_EQ(rt.state("w-rep-1").exit_code, 42);
  EXPECT_FALSE(rt.crash("w-rep-1", 42)); // exited already
  EXPECT_FALSE(rt.crash("nope", 42));

  EXPECT_EQ(rt.crash_many(ids, 139), 2u);
  take_exit(self, "w-rep-2", 139, 0);
  take_exit(self, "w-rep-3", 139, 0);
  EXPECT_EQ(rt.counts().exited, 3u);
  rt.exec("w-rep-2", 4, {"true"}, 1s, self);
  EXPECT_EQ(take<exec_result>(self).code, -1);
}

TEST_F(sim_runtime_test, unknown_ids_answer_not_found) {
  caf::scoped_actor self{sys};
  const AgentError expected = NotFound{"nope", "no such container"};
  rt.start("nope", self);
  EXPECT_EQ(take_error(self, runtime_op::start), expected);
  rt.stop("nope", 1s, SIGTERM, self);
  EXPECT_EQ(take_error(self, runtime_op::stop), expected);
  rt.remove("nope", self);
  EXPECT_EQ(take_error(self, runtime_op::remove), expected);
  EXPECT_EQ(to_string(expected), "Container 'nope' not found: no such container");
  rt.exec("nope", 5, {"true"}, 1s, self);
  auto ex = take<exec_result>(self);
  EXPECT_EQ(ex.exec_id, 5u);
  EXPECT_EQ(ex.code, -1);
  EXPECT_EQ(ex.output, to_string(expected));
  EXPECT_EQ(rt.state("nope").state, container_state::unknown);
  EXPECT_EQ(rt.pid("nope"), std::nullopt);
  EXPECT_TRUE(rt.logs("nope", 10).empty());
}

TEST_F(sim_runtime_test, runs_the_configured_oses) {
  EXPECT_EQ(rt.name(), "sim");
  EXPECT_TRUE(rt.runs_os("linux"));
  EXPECT_FALSE(rt.runs_os("windows"));
  sim_runtime all{{"linux", "windows", "darwin"}};
  EXPECT_TRUE(all.runs_os("windows"));
}

// Many callers at once, the way replica actors on several scheduler threads use it.
TEST_F(sim_runtime_test, concurrent_callers) {
  constexpr int threads = 4;
  constexpr int per_thread = 2000;
  caf::scoped_actor self{sys};
  // Every container gets exactly four runtime_replies: create, start, stop and remove.
  auto counter = sys.spawn(reply_counter, std::size_t{4 * threads * per_thread}, caf::actor{self});
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        auto id = replica_id(std::to_string(t) + "svc", static_cast<uint32_t>(i));
        sim_behavior b;
        b.exit_after = std::chrono::microseconds(i % 50);
        b.hang_on_stop = i % 5 == 0;
        rt.create(spec(id, b), counter);
        rt.start(id, counter);
        rt.exec(id, 6, {"true"}, 1s, counter);
        if (i % 3 == 0)
          rt.crash(id, 1);
        rt.stop(id, std::chrono::microseconds(i % 7), SIGTERM, counter);
        (void)rt.state(id);
        rt.remove(id, counter);
      }
    });
  }
  for (auto& w : workers)
    w.join();
  EXPECT_EQ(rt.size(), 0u);
  std::size_t failed = 1;
  self->receive([&](std::size_t f) { failed = f; }, caf::after(30s) >> [] {});
  EXPECT_EQ(failed, 0u);
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
}

TEST_F(sim_runtime_test, carries_100000_containers) {
  constexpr std::size_t n = 100'000;
  std::vector<container_spec> specs;
  specs.reserve(n);
  for (std::size_t i = 1; i <= n; ++i)
    specs.push_back(spec(replica_id("svc", static_cast<uint32_t>(i))));

  caf::scoped_actor self{sys};
  auto counter = sys.spawn(reply_counter, 2 * n, caf::actor{self});
  auto heap_before = heap_in_use();
  auto t0 = sim_clock::now();
  for (const auto& s : specs) {
    rt.create(s, counter);
    rt.start(s.id, counter);
  }
  auto elapsed = sim_clock::now() - t0;
  std::size_t failed = 1;
  self->receive([&](std::size_t f) { failed = f; }, caf::after(30s) >> [] {});
  EXPECT_EQ(failed, 0u);
  auto heap_after = heap_in_use();

  EXPECT_EQ(rt.size(), n);
  EXPECT_EQ(rt.counts().running, n);
  std::size_t running = 0;
  for (const auto& s : specs)
    running += rt.state(s.id).state == container_state::running ? 1 : 0;
  EXPECT_EQ(running, n);

  std::printf("100000 containers: create+start %.1f ms, replies to an actor included\n",
              std::chrono::duration<double, std::milli>(elapsed).count());
  if (heap_before && heap_after) {
    auto per_container = static_cast<double>(*heap_after - *heap_before) / n;
    std::printf("100000 containers: %.0f bytes of heap per container\n", per_container);
    EXPECT_LT(per_container, 500.0);
  }
  caf::anon_send_exit(counter, caf::exit_reason::user_shutdown);
}

} // namespace

// Replica ids repeat across the deployments of a node: the runtime keys each container by
// deployment and id, and names it in an error by the replica id a user knows.
TEST_F(sim_runtime_test, the_same_replica_id_in_two_deployments_is_two_containers) {
  caf::scoped_actor self{sys};
  auto shop = spec("api-rep-1");
  shop.deployment = "shop";
  auto blog = spec("api-rep-1");
  blog.deployment = "blog";
  rt.create(shop, self);
  take_ok(self, runtime_op::create, "shop/api-rep-1");
  rt.create(blog, self);
  take_ok(self, runtime_op::create, "blog/api-rep-1");
  rt.create(blog, self);
  EXPECT_TRUE(std::holds_alternative<CreateFailed>(take_error(self, runtime_op::create)));

  rt.start("shop/api-rep-1", self);
  auto shop_pid = take_ok(self, runtime_op::start, "shop/api-rep-1");
  EXPECT_EQ(rt.state("blog/api-rep-1").state, container_state::created);
  rt.start("blog/api-rep-1", self);
  auto blog_pid = take_ok(self, runtime_op::start, "blog/api-rep-1");
  EXPECT_NE(shop_pid, blog_pid);
  rt.stop("shop/api-rep-1", 10s, SIGTERM, self);
  take_exit(self, "shop/api-rep-1", 128 + SIGTERM, SIGTERM);
  take_ok(self, runtime_op::stop, "shop/api-rep-1");
  EXPECT_EQ(rt.state("blog/api-rep-1").state, container_state::running);
  rt.start("web/api-rep-9", self);
  EXPECT_EQ(take_error(self, runtime_op::start), (AgentError{no_such_container("api-rep-9")}));
}
