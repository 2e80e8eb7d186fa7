// A service's own state from its replicas' states, as counts per state.
#include <initializer_list>
#include <utility>

#include <gtest/gtest.h>

#include "actors/service_actor.hpp"

namespace {

using nv::lifecycle;

nv::replica_counts counts(std::initializer_list<std::pair<lifecycle, uint32_t>> states) {
  nv::replica_counts c{};
  for (auto [s, n] : states)
    c[static_cast<std::size_t>(s)] += n;
  return c;
}

TEST(ServiceState, FollowsTheLeastAdvancedReplica) {
  using nv::service_state_of;
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 3}}), 0), lifecycle::healthy);
  EXPECT_EQ(service_state_of(counts({{lifecycle::completed, 2}}), 0), lifecycle::completed);
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 2}, {lifecycle::completed, 1}}), 0),
            lifecycle::healthy);
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 2}, {lifecycle::running, 1}}), 0),
            lifecycle::running);
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 2}, {lifecycle::starting, 1}}), 0),
            lifecycle::starting);
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 2}, {lifecycle::pending, 1}}), 0),
            lifecycle::starting);
}

TEST(ServiceState, TroubleOutranksProgress) {
  using nv::service_state_of;
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 5},
                                     {lifecycle::crash_loop_backoff, 1},
                                     {lifecycle::failed, 1}}),
                             0),
            lifecycle::crash_loop_backoff);
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 5}, {lifecycle::failed, 1}}), 0),
            lifecycle::failed);
  EXPECT_EQ(service_state_of(counts({{lifecycle::running, 5}, {lifecycle::stopping, 1}}), 0),
            lifecycle::stopping);
}

TEST(ServiceState, IsolatedReplicasDegradeOrFailTheService) {
  using nv::service_state_of;
  EXPECT_EQ(service_state_of(counts({{lifecycle::healthy, 2}}), 1), lifecycle::degraded);
  EXPECT_EQ(service_state_of(counts({{lifecycle::running, 2}}), 1), lifecycle::degraded);
  EXPECT_EQ(service_state_of(counts({{lifecycle::starting, 2}}), 1), lifecycle::starting);
  EXPECT_EQ(service_state_of(counts({}), 2), lifecycle::failed);
  EXPECT_EQ(service_state_of(counts({}), 0), lifecycle::stopped);
}

} // namespace
