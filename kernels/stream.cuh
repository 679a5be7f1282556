#pragma once

// Owners of CUDA streams and events for the device pipeline and the window fold.

#include <cuda_runtime.h>

#include "kernels/cuda_check.cuh"

namespace ldh {

/// Owns a non-blocking stream, so work on it never waits on the legacy default stream.
class Stream {
 public:
  Stream() { LDH_CUDA_TRY(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking)); }
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;
  ~Stream() { cudaStreamDestroy(stream_); }
  cudaStream_t get() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

/// Owns an event. Waits on it block rather than spin, so a worker thread's core serves the
/// other workers' host work meanwhile; events only waited on skip timing.
class Event {
 public:
  explicit Event(unsigned int flags = cudaEventDisableTiming) {
    LDH_CUDA_TRY(cudaEventCreateWithFlags(&event_, flags | cudaEventBlockingSync));
  }
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { cudaEventDestroy(event_); }
  cudaEvent_t get() const { return event_; }

 private:
  cudaEvent_t event_ = nullptr;
};

}  // namespace ldh
