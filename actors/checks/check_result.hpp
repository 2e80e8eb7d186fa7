// The outcome of one check is part of the vocabulary (messages/check.hpp): the trace describes
// it, and the check runner answers with it.
#pragma once

#include "messages/caf/inspect.hpp"
#include "messages/check.hpp"
