#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/host_device.h"

namespace ldh {

/// The type an expression (or a sub-expression) yields.
enum class ValueKind : std::uint8_t { number, boolean, string };

// (the helper implementing the expression language defines OpCode, Instruction and the
//  host+device per-row interpreter here)
enum class OpCode : std::uint8_t {};
struct Instruction {
  OpCode op;
  std::int32_t operand;
};

/// The compiled form of an expression: postfix code over a value stack. Trivially copyable
/// pieces (instructions, constants) are what a kernel receives.
struct CompiledExpression {
  std::vector<Instruction> code;
  std::vector<double> constants;
  /// Slots the program reads (a row is null when any of them is null there).
  std::vector<int> input_slots;
  ValueKind result = ValueKind::number;
  int stack_depth = 0;
  std::string text;
};

}  // namespace ldh
