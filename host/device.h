#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace ldh {

/// Describes one usable CUDA device (a copy of the kernels/ view, so host code needs no CUDA).
struct DeviceDescription {
  int index = 0;
  std::string name;
  int compute_major = 0;
  int compute_minor = 0;
  std::size_t total_memory = 0;
  std::size_t free_memory = 0;
  int multiprocessors = 0;
};

/// Lists the CUDA devices once per process, and why there are none when there are none.
struct DeviceSurvey {
  bool cuda_built = false;
  std::string architectures;  // what this build carries code for
  std::vector<DeviceDescription> devices;
  std::string why_none;
};

const DeviceSurvey& survey_devices();

enum class Backend { automatic, cpu, gpu };

/// Resolves --backend: automatic picks the GPU when usable, else the CPU, and says why in
/// `reason`; gpu without a usable device throws UserError naming the cause.
Backend resolve_backend(Backend requested, std::string& reason);

}  // namespace ldh
