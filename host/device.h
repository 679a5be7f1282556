#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "kernels/device.h"

namespace ldh {

/// Lists the CUDA devices once per process, and why there are none when there are none.
struct DeviceSurvey {
  bool cuda_built = false;
  std::string architectures;  // what this build carries code for
  std::vector<device::DeviceInfo> devices;
  std::string why_none;
};

const DeviceSurvey& survey_devices();

enum class Backend { automatic, cpu, gpu };

/// Resolves --backend: automatic picks the GPU when usable, else the CPU, and says why in
/// `reason`; gpu without a usable device throws UserError naming the cause.
Backend resolve_backend(Backend requested, std::string& reason);

}  // namespace ldh
