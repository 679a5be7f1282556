// libFuzzer target: arbitrary bytes through the binary decoder (framing and decoding).
#include "tests/fuzz/decode_fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ldh::fuzzing::fuzz_decoder(ldh::Format::binary, data, size);
  return 0;
}
