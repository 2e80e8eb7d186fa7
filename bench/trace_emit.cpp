// What one trace event costs the actor that emits it: a state change, a failure and a traced
// message (--trace-messages), from one thread and from two at once (the two scheduler threads
// of a 2-core machine, sharing the seq counter), and formatting a line alone. The sink writes to
// /dev/null, so the writer's disk never slows the emitters.
#include <fstream>
#include <memory>
#include <string>

#include <benchmark/benchmark.h>
#include <caf/make_message.hpp>

#include "messages/agent_error.hpp"
#include "messages/caf/inspect.hpp"
#include "messages/lifecycle.hpp"
#include "trace/emit.hpp"
#include "trace/message_trace.hpp"
#include "trace/trace_line.hpp"
#include "trace/trace_sink.hpp"

using namespace nv;

namespace {

// One sink for every thread of a benchmark run: thread 0 opens it before the others start
// timing and closes it after they stop (Google Benchmark's threads meet at both points).
struct shared_sink {
  std::ofstream out{"/dev/null"};
  std::unique_ptr<trace_sink> sink;
};

shared_sink& fixture() {
  static shared_sink s;
  return s;
}

void open_sink(const benchmark::State& st, bool messages) {
  if (st.thread_index() != 0)
    return;
  fixture().sink = std::make_unique<trace_sink>(fixture().out, "n1");
  fixture().sink->set_messages(messages);
}

void close_sink(const benchmark::State& st) {
  if (st.thread_index() == 0)
    fixture().sink.reset();
}

// A replica's path as the tree names it, different per thread as actors' paths are.
std::string replica_path(const benchmark::State& st) {
  return "/web-stack/api/api-rep-" + std::to_string(st.thread_index() + 1);
}

void state_change_event(benchmark::State& st) {
  open_sink(st, false);
  const std::string path = replica_path(st);
  trace::context_scope scope{fixture().sink.get(), nullptr, 41};
  for (auto _ : st)
    benchmark::DoNotOptimize(trace::state(path, lifecycle::starting, lifecycle::running, 4242));
  close_sink(st);
}
BENCHMARK(state_change_event)->Threads(1)->Threads(2);

// A restart carries two events with an AgentError: the failure and the exit.
void failure_event(benchmark::State& st) {
  open_sink(st, false);
  const std::string path = replica_path(st);
  const AgentError err = UnexpectedExit{"api-rep-" + std::to_string(st.thread_index() + 1), 1};
  trace::context_scope scope{fixture().sink.get(), nullptr, 41};
  for (auto _ : st)
    benchmark::DoNotOptimize(trace::failure(path, err, 0));
  close_sink(st);
}
BENCHMARK(failure_event)->Threads(1)->Threads(2);

// What traced_actor does for one message on the sending side: describe it, then emit.
void traced_message(benchmark::State& st) {
  open_sink(st, true);
  const std::string path = replica_path(st);
  const std::string parent = "/web-stack/api";
  const auto m = caf::make_message(state_change{path, lifecycle::starting, lifecycle::running});
  trace::context_scope scope{fixture().sink.get(), nullptr, 41};
  std::string summary;
  for (auto _ : st) {
    summary.clear();
    const char* type = trace::describe(m, summary);
    benchmark::DoNotOptimize(trace::send(path, parent, type, summary));
  }
  close_sink(st);
}
BENCHMARK(traced_message)->Threads(1)->Threads(2);

void format_line(benchmark::State& st) {
  const trace_event ev{"/web-stack/api/api-rep-1", 41,
                       state_event{lifecycle::starting, lifecycle::running, 4242}};
  std::string line;
  uint64_t seq = 1;
  for (auto _ : st) {
    line.clear();
    append_trace_line(line, seq++, 1795704416624807, "n1", ev);
    benchmark::DoNotOptimize(line.data());
  }
}
BENCHMARK(format_line);

} // namespace

BENCHMARK_MAIN();
