// The trace readers on hand-written traces: parsing and skipped lines, summary, tree, why,
// the Chrome and DOT exports, and tail without following.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/trace/trace_scenario.hpp"
#include "trace/trace_chrome.hpp"
#include "trace/trace_dot.hpp"
#include "trace/trace_reader.hpp"
#include "trace/trace_summary.hpp"
#include "trace/trace_tail.hpp"
#include "trace/trace_tree.hpp"
#include "trace/trace_why.hpp"

using namespace nv;
using namespace nv::test;
using nlohmann::json;

namespace {

std::vector<trace_record> read_all(const std::string& path, read_stats& stats) {
  std::vector<trace_record> out;
  std::string error;
  EXPECT_TRUE(read_trace_file(
      path, [&](const trace_record& r) { out.push_back(r); }, stats, error))
      << error;
  return out;
}

// Whatever a function printed on a FILE*, as a string.
template <class Fn>
std::string captured(Fn&& fn) {
  std::FILE* f = std::tmpfile();
  fn(f);
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;)
    text.append(buf, n);
  std::fclose(f);
  return text;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

using TraceReader = TraceFiles;

TEST_F(TraceReader, ParsesEveryKindBackIntoTheEventStructs) {
  const auto path = write("t.jsonl", scenario().text);
  read_stats stats;
  const auto recs = read_all(path, stats);
  ASSERT_EQ(recs.size(), 30u);
  EXPECT_EQ(stats.malformed, 0u);
  EXPECT_EQ(recs[0].ev.actor, "/d");
  EXPECT_EQ(std::get<spawn_event>(recs[0].ev.data).parent, "/");
  EXPECT_EQ(recs[6].ev.actor, rep1);
  EXPECT_EQ(std::get<state_event>(recs[6].ev.data).pid, 100);
  const auto& fail = std::get<failure_event>(recs[12].ev.data);
  EXPECT_EQ(fail.error, probe_error);
  EXPECT_EQ(recs[12].ev.cause, 12u);
  EXPECT_EQ(recs[12].line, 13u);
  EXPECT_EQ(std::get<restart_event>(recs[15].ev.data).strategy, "one_for_one");
  EXPECT_EQ(std::get<escalate_event>(recs[26].ev.data).origin, rep1);
  EXPECT_EQ(std::get<dropped_event>(recs[28].ev.data).count, 5u);
  EXPECT_EQ(recs[29].ts_us, t0_us + 3000000);
  // Offsets point at the first byte of each line.
  const std::string text = read_text(path);
  for (const auto& r : recs)
    EXPECT_EQ(text.compare(r.offset, 8, "{\"seq\":" + std::string(1, text[r.offset + 7])), 0);
}

TEST(TraceParseLine, ReadsBackWhatTheWriterWritesWhateverTheStringsHold) {
  // Quotes, backslashes, control characters (written as \u00XX), UTF-8 and a stray byte.
  const std::string reason = "say \"hi\"\\ \n\t\x01 caf\xC3\xA9 \xFF end";
  trace_text t;
  t.add(5, "/d/api/api-rep-1/probe", probe_event{false, 7, reason}, 3);
  t.add(6, "/d",
        exit_event{exit_event::reason_kind::failure, StartFailed{"x", reason}, std::nullopt, {}});
  t.add(7, "/_peers", route_event{"gpu", "windows", std::nullopt});
  t.add(8, "/d/x", state_event{lifecycle::running, lifecycle::healthy, -1});
  std::istringstream in(t.text);
  std::vector<trace_record> recs;
  std::string line, error;
  while (std::getline(in, line)) {
    trace_record r;
    ASSERT_TRUE(parse_trace_line(line, r, error)) << error << ": " << line;
    recs.push_back(r);
  }
  ASSERT_EQ(recs.size(), 4u);
  EXPECT_EQ(recs[0].ev.cause, 3u);
  EXPECT_EQ(std::get<probe_event>(recs[0].ev.data).reason,
            "say \"hi\"\\ \n\t\x01 caf\xC3\xA9 \xEF\xBF\xBD end");
  const auto& exit = std::get<exit_event>(recs[1].ev.data);
  ASSERT_TRUE(exit.error);
  EXPECT_EQ(std::get<StartFailed>(*exit.error).reason,
            std::get<probe_event>(recs[0].ev.data).reason);
  EXPECT_FALSE(std::get<route_event>(recs[2].ev.data).peer);
  EXPECT_EQ(std::get<state_event>(recs[3].ev.data).pid, -1);

  // JSON the writer would not produce is still JSON: spaces, key order, escaped keys.
  trace_record r;
  ASSERT_TRUE(parse_trace_line(R"( { "event" : "spawn", "parent":"\/", "actor":"/a",)"
                               R"( "node":"n1", "ts_us":-5, "s\u0065q":7 } )",
                               r, error))
      << error;
  EXPECT_EQ(r.seq, 7u);
  EXPECT_EQ(r.ts_us, -5);
  EXPECT_EQ(std::get<spawn_event>(r.ev.data).parent, "/");
  // Wrong types are named.
  EXPECT_FALSE(parse_trace_line(R"({"seq":1.5,"ts_us":1,"node":"n","actor":"/a","event":"spawn",)"
                                R"("parent":"/"})",
                                r, error));
  EXPECT_EQ(error, "\"seq\" must be an unsigned integer");
  EXPECT_FALSE(parse_trace_line(R"({"seq":1,"ts_us":1,"node":"n","actor":"/a","event":"failure",)"
                                R"("error":{"kind":"Nope"},"attempt":0})",
                                r, error));
  EXPECT_NE(error.find("\"error\" is not an AgentError"), std::string::npos) << error;
  EXPECT_FALSE(parse_trace_line("[1,2]", r, error));
  EXPECT_EQ(error, "expected a JSON object");
}

TEST_F(TraceReader, CountsMalformedLinesWithTheirNumbersAndACutOffLastLine) {
  std::string text = scenario().text;
  // Line 31: not JSON; 32: JSON without seq; 33: unknown event; 34: cut off mid-write.
  text += "garbage\n";
  text += R"({"ts_us":1,"node":"n1","actor":"/x","event":"spawn","parent":"/"})"
          "\n";
  text += R"({"seq":99,"ts_us":1,"node":"n1","actor":"/x","event":"teleport"})"
          "\n";
  text += R"({"seq":100,"ts_us":1732600003000000,"node":"n1","actor":"/d","eve)";
  const auto path = write("t.jsonl", text);
  read_stats stats;
  const auto recs = read_all(path, stats);
  EXPECT_EQ(recs.size(), 30u);
  EXPECT_EQ(stats.lines, 34u);
  ASSERT_EQ(stats.malformed, 4u);
  ASSERT_EQ(stats.first_malformed.size(), 4u);
  EXPECT_EQ(stats.first_malformed[0].number, 31u);
  EXPECT_NE(stats.first_malformed[0].reason.find("parse error"), std::string::npos)
      << stats.first_malformed[0].reason;
  EXPECT_EQ(stats.first_malformed[1].number, 32u);
  EXPECT_EQ(stats.first_malformed[1].reason, "missing \"seq\"");
  EXPECT_EQ(stats.first_malformed[2].number, 33u);
  EXPECT_NE(stats.first_malformed[2].reason.find("\"event\" must be one of"), std::string::npos);
  EXPECT_EQ(stats.first_malformed[3].number, 34u);
  EXPECT_NE(stats.first_malformed[3].reason.find("cut off"), std::string::npos);

  const std::string report = captured([&](std::FILE* f) { report_malformed(f, path, stats); });
  EXPECT_NE(report.find(path + ": skipped 4 malformed lines"), std::string::npos) << report;
  EXPECT_NE(report.find(path + ":32: missing \"seq\""), std::string::npos) << report;
}

TEST_F(TraceReader, ACompleteLastLineWithoutItsNewlineStillCountsAsCutOff) {
  std::string text = scenario().text;
  text.pop_back();
  const auto path = write("t.jsonl", text);
  read_stats stats;
  EXPECT_EQ(read_all(path, stats).size(), 29u);
  ASSERT_EQ(stats.malformed, 1u);
  EXPECT_EQ(stats.first_malformed[0].number, 30u);
}

TEST_F(TraceReader, ReportsTheFirstTenBadLinesAndCountsTheRest) {
  std::string text;
  for (int i = 0; i < 25; ++i)
    text += "{not json\n";
  const auto path = write("t.jsonl", text);
  read_stats stats;
  EXPECT_TRUE(read_all(path, stats).empty());
  EXPECT_EQ(stats.malformed, 25u);
  ASSERT_EQ(stats.first_malformed.size(), read_stats::max_reported);
  EXPECT_EQ(stats.first_malformed.back().number, 10u);
  const std::string report = captured([&](std::FILE* f) { report_malformed(f, path, stats); });
  EXPECT_NE(report.find("... and 15 more"), std::string::npos) << report;
}

TEST_F(TraceReader, SkipsAnOverlongLineWithoutKeepingIt) {
  trace_text t;
  t.add(0, "/a", spawn_event{"/"});
  std::string text = t.text + std::string(max_trace_line + 10, 'x') + "\n";
  t.text.clear();
  t.add(1, "/b", spawn_event{"/"});
  text += t.text;
  const auto path = write("t.jsonl", text);
  read_stats stats;
  const auto recs = read_all(path, stats);
  ASSERT_EQ(recs.size(), 2u);
  EXPECT_EQ(recs[1].ev.actor, "/b");
  EXPECT_EQ(recs[1].line, 3u);
  EXPECT_EQ(recs[1].offset, text.size() - t.text.size());
  ASSERT_EQ(stats.malformed, 1u);
  EXPECT_EQ(stats.first_malformed[0].number, 2u);
}

TEST_F(TraceReader, AMissingFileIsAnErrorNamingIt) {
  read_stats stats;
  std::string error;
  EXPECT_FALSE(
      read_trace_file((dir / "nope.jsonl").string(), [](const trace_record&) {}, stats, error));
  EXPECT_NE(error.find("nope.jsonl: cannot open"), std::string::npos) << error;
}

using TraceSummary = TraceFiles;

TEST_F(TraceSummary, CountsSpawnsRestartsFailuresAndTimeInEachState) {
  std::string text = scenario().text;
  text.insert(text.find("{\"seq\":5,"), "not json\n"); // line 5
  const auto path = write("t.jsonl", text);
  trace_summary sum;
  read_stats stats;
  read_all(path, stats);
  stats = {};
  std::string error;
  ASSERT_TRUE(read_trace_file(
      path, [&](const trace_record& r) { add_to_summary(sum, r); }, stats, error));
  finish_summary(sum);

  EXPECT_EQ(sum.events, 30u);
  EXPECT_EQ(sum.first_ts_us, t0_us);
  EXPECT_EQ(sum.last_ts_us, t0_us + 3000000);
  EXPECT_EQ(sum.dropped, 5u);
  EXPECT_EQ(stats.malformed, 1u);
  const actor_summary& rep = sum.actors.at(rep1);
  EXPECT_EQ(rep.spawns, 2u);
  EXPECT_EQ(rep.restarts, 1u);
  EXPECT_EQ(rep.failures, 2u);
  EXPECT_EQ(rep.failures_by_kind.at("HealthCheckFailed"), 1u);
  EXPECT_EQ(rep.failures_by_kind.at("UnexpectedExit"), 1u);
  auto ms = [&](lifecycle s) { return rep.us_in_state[static_cast<std::size_t>(s)] / 1000; };
  EXPECT_EQ(ms(lifecycle::creating), 2);
  EXPECT_EQ(ms(lifecycle::running), 97 + 996);
  EXPECT_EQ(ms(lifecycle::healthy), 902);
  EXPECT_EQ(ms(lifecycle::crash_loop_backoff), 1);
  EXPECT_EQ(ms(lifecycle::failed), 1000) << "the current state runs to the file's last event";
  EXPECT_EQ(sum.actors.at("/d/api").restarts, 0u);
  EXPECT_EQ(sum.actors.count("/_trace"), 0u) << "the writer's drop record is not an actor";

  const auto out = lines_of(captured([&](std::FILE* f) { print_summary(f, sum, stats); }));
  ASSERT_GE(out.size(), 8u);
  EXPECT_EQ(out[0], "events:    30");
  EXPECT_EQ(out[1], "span:      3.000s (2024-11-26 05:46:40.000 UTC to 2024-11-26 05:46:43.000 "
                    "UTC)");
  EXPECT_EQ(out[2], "malformed: 1 lines");
  EXPECT_EQ(out[3], "dropped:   5 events");
  // The failing replica comes first, with its failures by kind.
  EXPECT_EQ(out[7].rfind(rep1, 0), 0u) << out[7];
  EXPECT_NE(out[7].find("HealthCheckFailed 1, UnexpectedExit 1"), std::string::npos) << out[7];
  EXPECT_NE(out[8].find("healthy 0.902s"), std::string::npos) << out[8];
}

actor_tree tree_at(const std::string& text, int64_t at_ms) {
  actor_tree tree;
  tree.at_us = t0_us + at_ms * 1000;
  std::istringstream in(text);
  std::string error;
  trace_record rec;
  for (std::string line; std::getline(in, line);) {
    EXPECT_TRUE(parse_trace_line(line, rec, error)) << error;
    add_to_tree(tree, rec);
  }
  finish_tree(tree);
  return tree;
}

TEST(TraceTree, DrawsTheTreeAtTheEndOfTheFile) {
  const auto tree = tree_at(scenario().text, 1000000);
  const std::string text = captured([&](std::FILE* f) { print_tree(f, tree); });
  EXPECT_EQ(text, "/\n"
                  "└─ d  failed\n"
                  "   ├─ api  failed, exited (failure: UnexpectedExit)\n"
                  "   │  └─ api-rep-1  failed, exited (failure: UnexpectedExit)\n"
                  "   │     └─ probe  unhealthy, gone with its parent\n"
                  "   └─ db  healthy\n");
}

TEST(TraceTree, ShowsEachActorsStateAtAGivenMoment) {
  // 1.5 s: the replica was restarted and runs again; its probe is still unhealthy.
  auto text = captured([&](std::FILE* f) { print_tree(f, tree_at(scenario().text, 1500)); });
  EXPECT_EQ(text, "/\n"
                  "└─ d  starting\n"
                  "   ├─ api  starting\n"
                  "   │  └─ api-rep-1  running\n"
                  "   │     └─ probe  unhealthy\n"
                  "   └─ db  healthy\n");
  // Between its exit and its respawn the replica shows as exited.
  const auto mid = tree_at(scenario().text, 1002);
  const auto& rep = mid.actors[mid.index.at(rep1)];
  EXPECT_TRUE(rep.exited);
  EXPECT_EQ(describe_state(rep), "crash_loop_backoff, exited (failure: HealthCheckFailed)");
  // Before the db was spawned, it is not in the tree.
  EXPECT_EQ(tree_at(scenario().text, 120).index.count("/d/db"), 0u);
}

// The chain behind the replica's last failure: its probe failed, it was restarted, crashed,
// and its service and deployment gave up.
const std::vector<uint64_t> expected_chain = {11, 12, 13, 14, 16, 18, 21,
                                              22, 23, 24, 25, 26, 27, 28};

std::vector<uint64_t> seqs(const why_result& why) {
  std::vector<uint64_t> out;
  for (const auto& r : why.chain)
    out.push_back(r.seq);
  return out;
}

using TraceWhy = TraceFiles;

TEST_F(TraceWhy, WalksFromTheFirstCauseToTheLastEscalation) {
  const auto path = write("t.jsonl", scenario().text);
  read_stats stats;
  const why_result why = explain_failure(path, "api-rep-1", stats);
  ASSERT_EQ(why.result, why_result::outcome::chain) << why.error;
  EXPECT_EQ(why.actor, rep1);
  EXPECT_EQ(seqs(why), expected_chain);
  EXPECT_TRUE(why.missing_cause.empty());

  const auto out = lines_of(captured([&](std::FILE* f) { print_why(f, why); }));
  ASSERT_EQ(out.size(), expected_chain.size());
  EXPECT_EQ(out.front(), "    1.000s  #11     /d/api/api-rep-1/probe  probe  failed after 1.5ms: "
                         "connection refused");
  EXPECT_EQ(out[2], "    1.001s  #13     /d/api/api-rep-1  failure  Health check failed for "
                    "'api-rep-1': connection refused (attempt 0)");
  EXPECT_EQ(out[4], "    1.002s  #16     /d/api  restart  /d/api/api-rep-1 (one_for_one, after "
                    "0ms)");
  EXPECT_EQ(out.back(), "    2.003s  #28     /d  state  starting → failed");
  EXPECT_EQ(out[out.size() - 2], "    2.003s  #27     /d  escalate  to /: Container 'api-rep-1' "
                                 "exited unexpectedly with code 3 (from /d/api/api-rep-1)");
}

TEST_F(TraceWhy, FindsCausesByBinarySearchInALargeFile) {
  // Thousands of unrelated lines (and some broken ones) between the steps: the walk back
  // must seek, not read from the start.
  int n = 0;
  const auto path =
      write("t.jsonl",
            scenario([&n](trace_text& t) {
              for (int i = 0; i < 4000; ++i) {
                t.add(1000, "/d/db/db-rep-" + std::to_string(i % 7), probe_event{true, 100, ""});
                if (++n % 997 == 0)
                  t.text += "{broken\n";
              }
            }).text);
  ASSERT_GT(std::filesystem::file_size(path), 4u << 20);
  read_stats stats;
  const why_result why = explain_failure(path, rep1, stats);
  ASSERT_EQ(why.result, why_result::outcome::chain) << why.error;
  std::vector<std::string> kinds;
  for (const auto& r : why.chain)
    kinds.emplace_back(to_string(kind(r.ev)));
  EXPECT_EQ(kinds, (std::vector<std::string>{"probe", "state", "failure", "exit", "restart",
                                             "spawn", "failure", "exit", "state", "escalate",
                                             "state", "exit", "escalate", "state"}));
  EXPECT_GT(stats.malformed, 0u);
}

TEST_F(TraceWhy, SaysWhenACauseIsNotInTheFile) {
  std::string text = scenario().text;
  const auto at = text.find("{\"seq\":16,");
  text.erase(at, text.find('\n', at) + 1 - at); // the restart was dropped
  const auto path = write("t.jsonl", text);
  read_stats stats;
  const why_result why = explain_failure(path, rep1, stats);
  ASSERT_EQ(why.result, why_result::outcome::chain);
  EXPECT_EQ(why.missing_cause, "#16");
  EXPECT_EQ(why.chain.front().seq, 18u);
}

TEST_F(TraceWhy, ANeverFailedActorAndUnknownOrAmbiguousNames) {
  const auto path = write("t.jsonl", scenario().text);
  read_stats stats;
  EXPECT_EQ(explain_failure(path, "/d/db", stats).result, why_result::outcome::never_failed);
  EXPECT_EQ(explain_failure(path, "nope", stats).result, why_result::outcome::no_match);
  const auto amb = explain_failure(path, "/d/", stats);
  EXPECT_EQ(amb.result, why_result::outcome::ambiguous);
  EXPECT_GE(amb.candidates.size(), 3u);
  EXPECT_EQ(explain_failure((dir / "missing").string(), "x", stats).result,
            why_result::outcome::unreadable);
}

TEST(TraceWhyNames, ExactThenComponentSuffixThenPrefix) {
  const std::vector<std::string> paths = {"/d", "/d/api", "/d/api/api-rep-1", "/d/api/api-rep-11",
                                          "/d/api/api-rep-1/probe"};
  std::vector<std::string> cands;
  EXPECT_EQ(resolve_actor(paths, "/d/api", cands), "/d/api");
  EXPECT_EQ(resolve_actor(paths, "api-rep-1", cands), "/d/api/api-rep-1");
  EXPECT_EQ(resolve_actor(paths, "api/api-rep-11", cands), "/d/api/api-rep-11");
  EXPECT_EQ(resolve_actor(paths, "rep-1", cands), "") << "suffixes match whole components";
  EXPECT_EQ(resolve_actor(paths, "/d/api/api-rep-1/pr", cands), "/d/api/api-rep-1/probe");
  EXPECT_EQ(resolve_actor(paths, "/d/api/api-rep-", cands), "");
  EXPECT_EQ(cands.size(), 3u);
}

using TraceChrome = TraceFiles;

TEST_F(TraceChrome, ExportIsValidJsonWithOrderedSpansAndPairedFlows) {
  const auto path = write("t.jsonl", scenario().text);
  const auto out_path = (dir / "out.json").string();
  std::FILE* out = std::fopen(out_path.c_str(), "w");
  read_stats stats;
  std::string error;
  ASSERT_TRUE(export_chrome(path, out, stats, error)) << error;
  std::fclose(out);

  const json doc = json::parse(read_text(out_path));
  ASSERT_TRUE(doc.contains("traceEvents"));
  std::map<std::pair<int, int>, std::vector<std::pair<int64_t, int64_t>>> spans;
  std::map<uint64_t, int> starts, finishes;
  std::map<uint64_t, int64_t> start_ts;
  std::map<std::pair<int, int>, std::string> thread_names;
  std::set<std::string> instants;
  for (const auto& ev : doc["traceEvents"]) {
    const std::string ph = ev.at("ph");
    if (ph == "M") {
      if (ev["name"] == "thread_name")
        thread_names[{ev["pid"].get<int>(), ev["tid"].get<int>()}] = ev["args"]["name"];
      continue;
    }
    const std::pair<int, int> trk{ev.at("pid").get<int>(), ev.at("tid").get<int>()};
    ASSERT_TRUE(thread_names.count(trk)) << "metadata names every track first: " << ev;
    const int64_t ts = ev.at("ts");
    if (ph == "X") {
      ASSERT_GE(ev.at("dur").get<int64_t>(), 0) << ev;
      spans[trk].emplace_back(ts, ts + ev["dur"].get<int64_t>());
    } else if (ph == "i") {
      instants.insert(thread_names[trk] + " " + ev["name"].get<std::string>());
    } else if (ph == "s") {
      ++starts[ev.at("id").get<uint64_t>()];
      start_ts[ev["id"].get<uint64_t>()] = ts;
    } else if (ph == "f") {
      ++finishes[ev.at("id").get<uint64_t>()];
      EXPECT_EQ(ev.at("bp"), "e");
      EXPECT_LE(start_ts.at(ev["id"].get<uint64_t>()), ts);
    } else {
      ADD_FAILURE() << "unexpected phase " << ph;
    }
  }
  for (auto& [trk, list] : spans) {
    std::sort(list.begin(), list.end());
    for (std::size_t i = 1; i < list.size(); ++i)
      EXPECT_LE(list[i - 1].second, list[i].first) << "overlapping spans on " << thread_names[trk];
  }
  EXPECT_EQ(starts, finishes) << "every flow starts once and ends once";
  EXPECT_EQ(starts.size(), 15u) << "one arrow per cause link";
  for (const auto& [id, n] : starts)
    EXPECT_EQ(n, 1);
  EXPECT_TRUE(instants.count("/d/api restart"));
  EXPECT_TRUE(instants.count("/d/api/api-rep-1 failure"));
  EXPECT_TRUE(instants.count("/d/api/api-rep-1/probe probe"));
  EXPECT_TRUE(instants.count("/d escalate"));
  // The replica's track: its states in order, from its spawn to the end of the file.
  const auto rep_track = std::find_if(thread_names.begin(), thread_names.end(),
                                      [](const auto& e) { return e.second == rep1; });
  ASSERT_NE(rep_track, thread_names.end());
  const auto& rep_spans = spans[rep_track->first];
  ASSERT_FALSE(rep_spans.empty());
  EXPECT_EQ(rep_spans.front().first, 2000);
  EXPECT_EQ(rep_spans.back().second, 3000000);
  // The replica and its probe share the service's process.
  const auto probe_track =
      std::find_if(thread_names.begin(), thread_names.end(),
                   [](const auto& e) { return e.second == std::string{rep1} + "/probe"; });
  ASSERT_NE(probe_track, thread_names.end());
  EXPECT_EQ(probe_track->first.first, rep_track->first.first);
  EXPECT_LT(rep_track->first.second, probe_track->first.second) << "tracks in tree order";
}

using TraceDot = TraceFiles;

TEST_F(TraceDot, ExportsTheTreeColouredByStateAndGraphvizRendersIt) {
  const std::string text =
      captured([&](std::FILE* f) { print_dot(f, tree_at(scenario().text, 1000000)); });
  const auto lines = lines_of(text);
  ASSERT_FALSE(lines.empty());
  EXPECT_EQ(lines.front(), "digraph nodevisor {");
  EXPECT_EQ(lines.back(), "}");
  int nodes = 0, edges = 0;
  for (const auto& l : lines) {
    if (l.find("fillcolor=") != std::string::npos)
      ++nodes;
    if (l.find(" -> ") != std::string::npos)
      ++edges;
  }
  EXPECT_EQ(nodes, 6); // "/", d, api, api-rep-1, probe, db
  EXPECT_EQ(edges, 5);
  EXPECT_NE(text.find("\"/d/api/api-rep-1\" [label=\"api-rep-1\\nfailed, exited (failure: "
                      "UnexpectedExit)\", fillcolor=\"#e5534b\"]"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("\"/d/db\" [label=\"db\\nhealthy\", fillcolor=\"#7fd07f\"]"),
            std::string::npos);
  EXPECT_NE(text.find("\"/d\" -> \"/d/api\";"), std::string::npos);

  if (std::system("command -v dot >/dev/null 2>&1") != 0) {
    GTEST_SKIP() << "graphviz `dot` is not installed: the DOT text was checked, not rendered";
  }
  const auto dot_path = write("tree.dot", text);
  const auto svg = (dir / "tree.svg").string();
  ASSERT_EQ(std::system(("dot -Tsvg " + dot_path + " -o " + svg).c_str()), 0);
  EXPECT_NE(read_text(svg).find("<svg"), std::string::npos);
}

TEST(TraceDotColors, FollowTheState) {
  tree_actor a;
  EXPECT_EQ(dot_color(a), "#ffffff");
  a.state = lifecycle::healthy;
  EXPECT_EQ(dot_color(a), "#7fd07f");
  a.state = lifecycle::crash_loop_backoff;
  EXPECT_EQ(dot_color(a), "#f5a742");
  a.state = lifecycle::failed;
  EXPECT_EQ(dot_color(a), "#e5534b");
  a.state = lifecycle::starting;
  EXPECT_EQ(dot_color(a), "#bdbdbd");
  a.state = lifecycle::running;
  a.exited = true;
  EXPECT_EQ(dot_color(a), "#eeeeee");
}

using TraceTail = TraceFiles;

TEST_F(TraceTail, PrintsTheFilteredEventsToTheEndWithoutFollowing) {
  const auto path = write("t.jsonl", scenario().text + "{\"seq\":31,\"ts");
  tail_options opts;
  opts.follow = false;
  opts.actor_prefix = "/d/api/";
  opts.kinds = {trace_kind::failure, trace_kind::restart};
  volatile std::sig_atomic_t stop = 0;
  read_stats stats;
  std::string error;
  const auto out = lines_of(captured(
      [&](std::FILE* f) { EXPECT_TRUE(tail_trace(path, opts, stop, f, stats, error)) << error; }));
  ASSERT_EQ(out.size(), 2u);
  EXPECT_NE(out[0].find("#13     /d/api/api-rep-1  failure  Health check failed"),
            std::string::npos)
      << out[0];
  EXPECT_NE(out[1].find("#21     /d/api/api-rep-1  failure  Container 'api-rep-1' exited"),
            std::string::npos)
      << out[1];
  EXPECT_EQ(stats.malformed, 1u) << "the cut-off last line";
}

} // namespace
