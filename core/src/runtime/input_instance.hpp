// The host side of an input instance: declarations and emits, routed to the
// sinks that subscribe to them.
#pragma once

#include "runtime/instance.hpp"

namespace sonde::core {

class InputInstance : public Instance {
public:
    InputInstance(Agent &agent, InstanceConfig config, std::shared_ptr<PluginLibrary> library, std::uint32_t slot);

    sonde_status declare(const sonde_record_decl &decl, std::uint32_t &out_id) override;
    sonde_status emit_metrics(std::uint32_t id, const sonde_metric_point *points, std::size_t count) override;
    sonde_status emit_events(std::uint32_t id, const sonde_event *events, std::size_t count) override;

    std::uint32_t slot() const { return slot_; }
    std::vector<const RecordDeclaration *> declarations() const { return declarations_->all(); }

protected:
    bool throttled() override;

private:
    template <typename Copy>
    sonde_status emit(std::uint32_t id, std::size_t count, bool metric, Copy &&copy);
    void count_emitted(std::size_t count, bool metric);

    std::uint32_t slot_;
    std::shared_ptr<DeclarationTable> declarations_;
};

}  // namespace sonde::core
