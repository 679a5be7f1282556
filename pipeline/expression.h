#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/error.h"
#include "pipeline/expression_program.h"
#include "pipeline/string_dictionary.h"
#include "pipeline/types.h"

namespace ldh {

/// What a field name in an expression refers to.
struct ExpressionField {
  int slot = -1;
  DataType type = DataType::float64;
  bool nullable = false;
};

/// Looks up a field by name; nullopt when the schema has no such field.
using FieldResolver = std::function<std::optional<ExpressionField>(std::string_view name)>;

/// Reports a syntax or type error at a character offset of the expression text.
class ExpressionError : public UserError {
 public:
  ExpressionError(std::size_t offset, const std::string& message)
      : UserError(message), offset_(offset) {}
  /// 0-based offset into the expression text.
  std::size_t offset() const { return offset_; }

 private:
  std::size_t offset_;
};

/// Parses and type-checks `text` once into a program that both the CPU evaluator and a CUDA
/// kernel run. String literals are interned into `strings` so comparisons work on ids.
/// Throws ExpressionError.
CompiledExpression compile_expression(std::string_view text, const FieldResolver& fields,
                                      StringDictionary& strings);

/// Evaluates `expression` over every row of `batch` column-at-a-time, writing results to
/// `out` (numbers as double, booleans as 0/1, strings as dictionary ids) and, when `valid` is not
/// null, 0 where an input field was null (1 otherwise). `now_ms` is what now() returns.
void evaluate(const CompiledExpression& expression, const EventBatchView& batch, double now_ms,
              double* out, std::uint8_t* valid);

}  // namespace ldh
