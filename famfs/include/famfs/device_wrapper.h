// A Device that forwards every call to another device, its target. A
// decorator derives from it and overrides only what it changes, as
// LevelDB's EnvWrapper does for Env: the tests' fault injection and their
// simulated non-coherent host caches (tests/support) are such decorators,
// over in-memory devices or over what open_device() returns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include "famfs/device.h"
#include "famfs/result.h"

namespace famfs {

class DeviceWrapper : public Device {
  public:
    explicit DeviceWrapper(std::shared_ptr<Device> target) : target_(std::move(target)) {}

    Device& target() const { return *target_; }
    const std::shared_ptr<Device>& shared_target() const { return target_; }

    uint8_t* base() override { return target_->base(); }
    uint64_t size() const override { return target_->size(); }
    const std::string& path() const override { return target_->path(); }
    DeviceKind kind() const override { return target_->kind(); }
    Access access() const override { return target_->access(); }
    Status persist(const void* p, size_t n) override { return target_->persist(p, n); }
    void invalidate(const void* p, size_t n) override { target_->invalidate(p, n); }
    void drop_page_tables(const void* p, size_t n) override { target_->drop_page_tables(p, n); }
    bool host_local_memory() const override { return target_->host_local_memory(); }

  private:
    std::shared_ptr<Device> target_;
};

}  // namespace famfs
