#include "ingest/decoder.h"

#include "ingest/binary_decoder.h"
#include "ingest/json_decoder.h"
#include "ingest/protobuf_decoder.h"

namespace ldh {

std::unique_ptr<Decoder> make_decoder(Format format, const Schema& schema, bool validate) {
  switch (format) {
    case Format::json:
      return make_json_decoder(schema, validate);
    case Format::binary:
      return make_binary_decoder(schema, validate);
    case Format::protobuf:
      return make_protobuf_decoder(schema, validate);
  }
  LDH_EXPECTS(false, "unknown format");
  return nullptr;
}

}  // namespace ldh
