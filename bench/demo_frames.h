// The demo's sensor feed as binary frames cut into chunks the way a source cuts them: the input
// of the benchmarks of the device path (device_pipeline_bench, device_runtime_bench).

#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "host/default_config.h"
#include "ingest/decoder.h"
#include "ingest/encoder.h"
#include "ingest/generator.h"
#include "pipeline/config.h"

namespace ldh {

struct DemoFrames {
  Config config;
  std::string input;
  std::vector<std::pair<std::size_t, std::size_t>> chunks;  // offset and length in `input`

  std::span<const std::byte> bytes() const {
    return std::as_bytes(std::span(input.data(), input.size()));
  }
};

/// Makes `events` events of the built-in demo config (10 000 sensors, seed 7) as binary frames
/// cut into chunks of about `chunk_records` records. Without `strings` the schema leaves out the
/// two string fields: the host resolves every row's string slots to dictionary ids on the
/// device path, and a pair of runs says what that costs. Throws std::runtime_error when the
/// default config no longer has those fields.
inline DemoFrames make_demo_frames(std::uint64_t events, std::size_t chunk_records, bool strings) {
  std::string text = kDefaultConfigText;
  if (!strings) {
    for (const std::string field : {"        - {name: location, type: string, size: 12}\n",
                                    "        - {name: type, type: string, size: 8}\n"}) {
      const std::size_t at = text.find(field);
      if (at == std::string::npos) {
        throw std::runtime_error("the default config changed its string fields");
      }
      text.erase(at, field.size());
    }
  }
  DemoFrames frames{parse_config(text, kDefaultConfigName), {}, {}};
  const Schema& schema = frames.config.format.schema;
  GeneratorConfig generator;
  generator.events = events;
  generator.sensors = 10'000;
  generator.seed = 7;
  SensorGenerator source(generator, schema);
  auto encoder = make_encoder(Format::binary, schema, generator.frame_records);
  source.generate(*encoder, events, frames.input);
  encoder->flush(frames.input);
  auto framer = make_decoder(Format::binary, schema);
  const std::span<const std::byte> bytes = frames.bytes();
  for (std::size_t at = 0; at < bytes.size();) {
    const std::size_t length = framer->frame(bytes.subspan(at), chunk_records, true);
    frames.chunks.emplace_back(at, length);
    at += length;
  }
  return frames;
}

}  // namespace ldh
