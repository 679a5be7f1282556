#pragma once

// The compiled form of an expression and the scalar operations that run it. Everything a kernel
// needs is LDH_HOST_DEVICE so the CPU evaluator and CUDA kernels share one source per operation.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/batch.h"
#include "pipeline/host_device.h"
#include "pipeline/math.h"
#include "pipeline/types.h"
#include "pipeline/weather.h"

namespace ldh {

/// The type an expression (or a sub-expression) yields.
enum class ValueKind : std::uint8_t { number, boolean, string };

/// The most values a program keeps on its stack; deeper expressions are rejected when compiled.
inline constexpr int kMaxStackDepth = 32;

/// One postfix operation. Loads push a field of the current row converted to double (operand =
/// column slot); push_constant pushes constants[operand]; the others pop their arguments (the
/// first argument deepest) and push the result.
enum class OpCode : std::uint8_t {
  // Loads and pushes.
  load_int32,
  load_int64,
  load_float32,
  load_float64,
  load_boolean,
  load_string,
  load_timestamp,
  push_constant,
  push_now,
  // One argument.
  negate,
  logical_not,
  absolute,
  square_root,
  exponential,
  logarithm,
  round,
  floor,
  ceil,
  // Two arguments.
  add,
  subtract,
  multiply,
  divide,
  remainder,
  equal,
  not_equal,
  less,
  less_equal,
  greater,
  greater_equal,
  logical_and,
  logical_or,
  minimum,
  maximum,
  power,
  heat_index,
  dew_point,
  // Three arguments.
  select,
  clamp,
};

inline constexpr int kOpCodeCount = static_cast<int>(OpCode::clamp) + 1;

struct Instruction {
  OpCode op;
  std::int32_t operand;  // column slot for loads, constants index for push_constant, else 0
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

/// Returns how many values an operation pops (0 for loads and pushes).
LDH_HOST_DEVICE constexpr int argument_count(OpCode op) {
  if (op <= OpCode::push_now) return 0;
  if (op <= OpCode::ceil) return 1;
  if (op <= OpCode::dew_point) return 2;
  return 3;
}

/// Tells whether a number counts as true: neither 0 nor NaN.
LDH_HOST_DEVICE LDH_FORCE_INLINE bool truth(double value) {
  return value > 0.0 || value < 0.0;
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double from_bool(bool value) {
  return value ? 1.0 : 0.0;
}

/// Converts nanoseconds since the epoch to milliseconds: the whole milliseconds exactly, plus the
/// fraction, so the result is within an ulp (ns / 1e6 would round ns first).
LDH_HOST_DEVICE LDH_FORCE_INLINE double timestamp_milliseconds(std::int64_t nanoseconds) {
  return static_cast<double>(nanoseconds / 1'000'000) +
         static_cast<double>(nanoseconds % 1'000'000) / 1e6;
}

/// Reads one field of `row` as the expression sees it (numbers as double, booleans as 0/1,
/// strings as dictionary ids, timestamps as milliseconds since the epoch).
LDH_HOST_DEVICE LDH_FORCE_INLINE double load_field(OpCode op, const void* data, std::size_t row) {
  switch (op) {
    case OpCode::load_int32:
    case OpCode::load_string:
      return static_cast<const std::int32_t*>(data)[row];
    case OpCode::load_int64:
      return static_cast<double>(static_cast<const std::int64_t*>(data)[row]);
    case OpCode::load_float32:
      return static_cast<const float*>(data)[row];
    case OpCode::load_float64:
      return static_cast<const double*>(data)[row];
    case OpCode::load_boolean:
      return from_bool(static_cast<const std::uint8_t*>(data)[row] != 0);
    case OpCode::load_timestamp:
      return timestamp_milliseconds(static_cast<const std::int64_t*>(data)[row]);
    default:
      return math::quiet_nan();
  }
}

LDH_HOST_DEVICE LDH_FORCE_INLINE double apply_unary(OpCode op, double x) {
  switch (op) {
    case OpCode::negate:
      return -x;
    case OpCode::logical_not:
      return from_bool(!truth(x));
    case OpCode::absolute:
      return math::abs(x);
    case OpCode::square_root:
      return math::sqrt(x);
    case OpCode::exponential:
      return math::exp(x);
    case OpCode::logarithm:
      return math::log(x);
    case OpCode::round:
      return math::round(x);
    case OpCode::floor:
      return math::floor(x);
    case OpCode::ceil:
      return math::ceil(x);
    default:
      return math::quiet_nan();
  }
}

/// Applies a two-argument operation. Every comparison with a NaN is false, != included.
LDH_HOST_DEVICE LDH_FORCE_INLINE double apply_binary(OpCode op, double a, double b) {
  switch (op) {
    case OpCode::add:
      return a + b;
    case OpCode::subtract:
      return a - b;
    case OpCode::multiply:
      return a * b;
    case OpCode::divide:
      return a / b;
    case OpCode::remainder:
      return math::fmod(a, b);
    case OpCode::equal:
      return from_bool(a == b);
    case OpCode::not_equal:
      return from_bool((a < b) | (a > b));
    case OpCode::less:
      return from_bool(a < b);
    case OpCode::less_equal:
      return from_bool(a <= b);
    case OpCode::greater:
      return from_bool(a > b);
    case OpCode::greater_equal:
      return from_bool(a >= b);
    case OpCode::logical_and:
      return from_bool(truth(a) + truth(b) == 2);
    case OpCode::logical_or:
      return from_bool(truth(a) + truth(b) != 0);
    case OpCode::minimum:
      return math::min(a, b);
    case OpCode::maximum:
      return math::max(a, b);
    case OpCode::power:
      return math::pow(a, b);
    case OpCode::heat_index:
      return weather::heat_index(a, b);
    case OpCode::dew_point:
      return weather::dew_point(a, b);
    default:
      return math::quiet_nan();
  }
}

/// Applies a three-argument operation; select's condition is false when it is 0 or NaN.
LDH_HOST_DEVICE LDH_FORCE_INLINE double apply_ternary(OpCode op, double a, double b, double c) {
  switch (op) {
    case OpCode::select:
      return math::select(truth(a), b, c);
    case OpCode::clamp:
      return math::clamp(a, b, c);
    default:
      return math::quiet_nan();
  }
}

/// Evaluates a program for one row, the way a kernel does. `columns` is indexed by slot and needs
/// data only for the slots the program loads; the result's NaNs are canonical.
LDH_HOST_DEVICE inline double run_program(const Instruction* code, int count,
                                          const double* constants, const ColumnView* columns,
                                          std::size_t row, double now_ms) {
  double stack[kMaxStackDepth];
  int top = 0;
  for (int index = 0; index < count; ++index) {
    const Instruction instruction = code[index];
    switch (argument_count(instruction.op)) {
      case 0:
        if (instruction.op == OpCode::push_constant) {
          stack[top] = constants[instruction.operand];
        } else if (instruction.op == OpCode::push_now) {
          stack[top] = now_ms;
        } else {
          stack[top] = load_field(instruction.op, columns[instruction.operand].data, row);
        }
        ++top;
        break;
      case 1:
        stack[top - 1] = apply_unary(instruction.op, stack[top - 1]);
        break;
      case 2:
        stack[top - 2] = apply_binary(instruction.op, stack[top - 2], stack[top - 1]);
        --top;
        break;
      default:
        stack[top - 3] =
            apply_ternary(instruction.op, stack[top - 3], stack[top - 2], stack[top - 1]);
        top -= 2;
        break;
    }
  }
  return math::canonical(stack[0]);
}

/// Tells whether every field the program loads is present (non-null) in `row`.
LDH_HOST_DEVICE inline bool row_is_valid(const Instruction* code, int count,
                                         const ColumnView* columns, std::size_t row) {
  for (int index = 0; index < count; ++index) {
    if (argument_count(code[index].op) != 0 || code[index].op == OpCode::push_constant ||
        code[index].op == OpCode::push_now) {
      continue;
    }
    const std::uint8_t* validity = columns[code[index].operand].validity;
    if (validity != nullptr && validity[row] == 0) return false;
  }
  return true;
}

}  // namespace ldh
