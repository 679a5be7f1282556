// libFuzzer target: arbitrary bytes through the json decoder (framing and decoding).
#include "tests/fuzz/decode_fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ldh::fuzzing::fuzz_decoder(ldh::Format::json, data, size);
  return 0;
}
