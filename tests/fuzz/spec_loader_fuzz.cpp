// libFuzzer target: the spec loader must never crash, hang or leak, whatever the input.
// The first byte picks the format so both parsers get the same corpus.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "spec/loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, std::size_t size) {
  if (size == 0)
    return 0;
  auto format = data[0] % 2 == 0 ? nv::spec::spec_format::yaml : nv::spec::spec_format::json;
  std::string_view text{reinterpret_cast<const char*>(data + 1), size - 1};
  auto result = nv::spec::load_spec_string(text, "fuzz", format);
  // A spec is returned exactly when no problem is an error.
  if (result.spec.has_value() == nv::spec::has_errors(result.problems))
    __builtin_trap();
  return 0;
}
