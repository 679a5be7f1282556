#pragma once

// Host-only entry to the CUDA expression evaluator: no CUDA types, so g++-built code can include
// it. Exists only in builds with the CUDA backend (LDH_HAVE_CUDA).

#include <cstdint>

#include "pipeline/batch.h"
#include "pipeline/expression_program.h"

namespace ldh {

/// Evaluates `expression` over every row of `host_batch` on the current CUDA device, with the
/// same results, bit for bit, as ldh::evaluate: copies the columns the program reads to the
/// device, runs run_program per row, and copies `out` (and `valid`, when not null) back.
/// Synchronous. Throws DeviceError when no device is usable or a CUDA call fails.
void evaluate_on_device(const CompiledExpression& expression, const EventBatchView& host_batch,
                        double now_ms, double* out, std::uint8_t* valid);

}  // namespace ldh
