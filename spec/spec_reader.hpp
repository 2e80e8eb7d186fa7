// The deployment spec's schema (design.md §5, ZLayer's field names and defaults): walks a
// document tree into the model, reporting every problem it meets.
#pragma once

#include "spec/deployment_spec.hpp"
#include "spec/document.hpp"
#include "spec/field_reader.hpp"

namespace nv::spec {

// Always returns a model, partial where there were errors: the dependency checks still run
// on it, so that one pass reports as much as it can.
deployment_spec read_deployment(reader& r, const node& root);

} // namespace nv::spec
