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

/// Says whether window rows fold on the device: only when the GPU was asked for by name. Under
/// auto they are added on the CPU: on an H200, with the state on the host, the windows demo ran
/// at 21.85–23.01 M events/s that way against 6.04–6.54 M folded (docs/performance.md, "first
/// run on a GPU").
inline bool folds_windows_on_device(Backend requested) {
  return requested == Backend::gpu;
}

}  // namespace ldh
