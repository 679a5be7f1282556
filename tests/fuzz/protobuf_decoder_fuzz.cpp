// libFuzzer target: arbitrary bytes through the protobuf decoder (framing and decoding).
#include "tests/fuzz/decode_fuzz_driver.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  ldh::fuzzing::fuzz_decoder(ldh::Format::protobuf, data, size);
  return 0;
}
