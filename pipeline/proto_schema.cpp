#include "pipeline/proto_schema.h"

#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>

#include <filesystem>
#include <optional>

#include "pipeline/error.h"

namespace ldh {

namespace {

namespace protobuf = google::protobuf;

/// Collects the proto parser's errors as FILE:LINE:COL lines for one UserError.
class ErrorList final : public protobuf::compiler::MultiFileErrorCollector {
 public:
  void AddError(const std::string& filename, int line, int column,
                const std::string& message) override {
    SourceLocation where{filename, line >= 0 ? line + 1 : 0, line >= 0 ? column + 1 : 0};
    if (!text.empty()) text += '\n';
    text += where.to_string() + ": error: " + message;
  }
  std::string text;
};

/// Maps a scalar proto field to its schema type and wire type; nullopt for fields ldh skips.
std::optional<std::pair<DataType, ProtoType>> map_type(const protobuf::FieldDescriptor& field) {
  using Descriptor = protobuf::FieldDescriptor;
  if (field.is_repeated() || field.is_map()) return std::nullopt;
  switch (field.type()) {
    case Descriptor::TYPE_INT32:
      return std::pair{DataType::int32, ProtoType::int32};
    case Descriptor::TYPE_SINT32:
      return std::pair{DataType::int32, ProtoType::sint32};
    case Descriptor::TYPE_SFIXED32:
      return std::pair{DataType::int32, ProtoType::sfixed32};
    case Descriptor::TYPE_ENUM:
      return std::pair{DataType::int32, ProtoType::int32};
    case Descriptor::TYPE_INT64:
      return std::pair{DataType::int64, ProtoType::int64};
    case Descriptor::TYPE_SINT64:
      return std::pair{DataType::int64, ProtoType::sint64};
    case Descriptor::TYPE_SFIXED64:
      return std::pair{DataType::int64, ProtoType::sfixed64};
    case Descriptor::TYPE_UINT32:
      return std::pair{DataType::int64, ProtoType::uint32};
    case Descriptor::TYPE_FIXED32:
      return std::pair{DataType::int64, ProtoType::fixed32};
    case Descriptor::TYPE_UINT64:
      return std::pair{DataType::int64, ProtoType::uint64};
    case Descriptor::TYPE_FIXED64:
      return std::pair{DataType::int64, ProtoType::fixed64};
    case Descriptor::TYPE_FLOAT:
      return std::pair{DataType::float32, ProtoType::float32};
    case Descriptor::TYPE_DOUBLE:
      return std::pair{DataType::float64, ProtoType::float64};
    case Descriptor::TYPE_BOOL:
      return std::pair{DataType::boolean, ProtoType::boolean};
    case Descriptor::TYPE_STRING:
      return std::pair{DataType::string, ProtoType::string};
    default:
      return std::nullopt;  // bytes, message, group
  }
}

}  // namespace

Schema schema_from_proto(const std::string& proto_path, const std::string& message_name,
                         std::vector<std::string> import_paths) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  LDH_USER_CHECK(fs::is_regular_file(proto_path, ignored), proto_path + ": no such .proto file");
  protobuf::compiler::DiskSourceTree tree;
  for (const std::string& path : import_paths) tree.MapPath("", path);
  fs::path own_folder = fs::path(proto_path).parent_path();
  tree.MapPath("", own_folder.empty() ? "." : own_folder.string());
  std::string virtual_name;
  std::string shadowing;
  if (tree.DiskFileToVirtualFile(proto_path, &virtual_name, &shadowing) !=
      protobuf::compiler::DiskSourceTree::SUCCESS) {
    virtual_name = fs::path(proto_path).filename().string();
  }

  ErrorList errors;
  protobuf::compiler::Importer importer(&tree, &errors);
  const protobuf::FileDescriptor* file = importer.Import(virtual_name);
  if (file == nullptr || !errors.text.empty()) {
    throw UserError(errors.text.empty() ? proto_path + ": cannot load" : errors.text);
  }
  const protobuf::DescriptorPool* pool = importer.pool();
  const protobuf::Descriptor* message = pool->FindMessageTypeByName(message_name);
  if (message == nullptr && !file->package().empty()) {
    message = pool->FindMessageTypeByName(file->package() + "." + message_name);
  }
  if (message == nullptr) {
    std::string known;
    for (int i = 0; i < file->message_type_count(); ++i) {
      known += (i == 0 ? "" : ", ") + file->message_type(i)->full_name();
    }
    throw UserError(proto_path + ": no message '" + message_name +
                    "' (the file declares: " + (known.empty() ? std::string("none") : known) + ")");
  }

  Schema schema;
  for (int i = 0; i < message->field_count(); ++i) {
    const protobuf::FieldDescriptor& descriptor = *message->field(i);
    auto mapped = map_type(descriptor);
    if (!mapped) continue;
    Field field;
    field.name = descriptor.name();
    field.type = mapped->first;
    field.proto_type = mapped->second;
    field.proto_number = static_cast<std::uint32_t>(descriptor.number());
    field.required = !descriptor.has_presence() || descriptor.is_required();
    protobuf::SourceLocation location;
    field.where.file = proto_path;
    if (descriptor.GetSourceLocation(&location)) {
      field.where.line = location.start_line + 1;
      field.where.column = location.start_column + 1;
    }
    schema.fields.push_back(std::move(field));
  }
  LDH_USER_CHECK(!schema.fields.empty(), proto_path + ": message '" + message->full_name() +
                                             "' has no scalar field ldh can read");
  schema.id = schema.layout_id();
  return schema;
}

}  // namespace ldh
