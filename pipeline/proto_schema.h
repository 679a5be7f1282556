#pragma once

#include <string>
#include <vector>

#include "pipeline/schema.h"

namespace ldh {

/// Builds a schema from message `message_name` (a full name such as "ldh.examples.SensorReading",
/// or the name inside the file's package) of the .proto file at `proto_path`, so a protobuf feed
/// needs no hand-written field list. Scalar fields become schema fields in declaration order
/// with their proto number and type; bytes, message, map and repeated fields are skipped (the
/// decoder skips them on the wire too); enums read as int32. Fields with explicit presence
/// (proto3 `optional`, oneof members, proto2 `optional`) are optional. The event-time field and
/// its unit are left to the configuration. Imports resolve against `import_paths`, then the
/// file's own folder. Throws UserError naming FILE:LINE:COL for parse errors.
Schema schema_from_proto(const std::string& proto_path, const std::string& message_name,
                         std::vector<std::string> import_paths = {});

}  // namespace ldh
