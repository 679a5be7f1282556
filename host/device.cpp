#include "host/device.h"

#include "pipeline/error.h"

namespace ldh {

namespace {
DeviceSurvey take_survey() {
  DeviceSurvey survey;
#ifdef LDH_HAVE_CUDA
  survey.cuda_built = true;
  survey.architectures = device::built_architectures();
  survey.devices = device::list_devices(survey.why_none);
#else
  survey.why_none = "this build has no CUDA backend (configured with LDH_CUDA=OFF or no nvcc)";
#endif
  return survey;
}
}  // namespace

const DeviceSurvey& survey_devices() {
  static const DeviceSurvey survey = take_survey();
  return survey;
}

Backend resolve_backend(Backend requested, std::string& reason) {
  const DeviceSurvey& survey = survey_devices();
  switch (requested) {
    case Backend::cpu:
      reason = "CPU backend (requested)";
      return Backend::cpu;
    case Backend::gpu:
      if (survey.devices.empty()) {
        throw UserError("--backend gpu: no usable CUDA device: " + survey.why_none);
      }
      reason = "GPU backend on " + survey.devices.front().name + " (requested)";
      return Backend::gpu;
    case Backend::automatic:
      if (survey.devices.empty()) {
        reason = "CPU backend: " + survey.why_none;
        return Backend::cpu;
      }
      reason = "GPU backend on " + survey.devices.front().name;
      return Backend::gpu;
  }
  return Backend::cpu;
}

}  // namespace ldh
