#include "runtime/router.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <map>

namespace sonde::core {

bool glob_any(const std::vector<std::string> &globs, const std::string &name) {
    return std::any_of(globs.begin(), globs.end(),
                       [&](const std::string &g) { return fnmatch(g.c_str(), name.c_str(), 0) == 0; });
}

RouteMap RouteMap::compile(const std::vector<RoutedInput> &inputs, const std::vector<Subscription> &sinks) {
    RouteMap map;
    // Name filters are resolved once per distinct record name and sink.
    std::map<std::string, std::vector<bool>> name_accepted;
    auto accepts_name = [&](const std::string &name) -> const std::vector<bool> & {
        auto [it, fresh] = name_accepted.try_emplace(name);
        if (fresh)
            for (const Subscription &s : sinks)
                it->second.push_back((s.match.empty() || glob_any(s.match, name)) && !glob_any(s.exclude, name));
        return it->second;
    };
    for (const RoutedInput &input : inputs) {
        if (map.routes_.size() <= input.slot) {
            map.routes_.resize(input.slot + 1);
            map.per_input_.resize(input.slot + 1);
        }
        std::vector<bool> input_accepted;
        for (const Subscription &s : sinks) input_accepted.push_back(s.inputs.empty() || glob_any(s.inputs, input.name));
        auto &routes = map.routes_[input.slot];
        routes.resize(input.declarations.size());
        for (std::size_t id = 0; id < input.declarations.size(); ++id) {
            const RecordDeclaration &d = *input.declarations[id];
            const auto &named = accepts_name(d.name);
            for (std::uint16_t s = 0; s < sinks.size(); ++s) {
                bool kind = d.is_metric() ? sinks[s].metrics : sinks[s].events;
                if (!kind || !input_accepted[s] || !named[s]) continue;
                routes[id].push_back(s);
                auto &all = map.per_input_[input.slot];
                if (std::find(all.begin(), all.end(), s) == all.end()) all.push_back(s);
            }
        }
    }
    return map;
}

namespace {
std::string names_of(const std::vector<RoutedInput> &inputs) {
    std::string out;
    for (const RoutedInput &i : inputs) out += (out.empty() ? "" : ", ") + i.name;
    return out.empty() ? "none" : out;
}
}  // namespace

std::vector<ConfigError> routing_warnings(const std::vector<RoutedInput> &inputs,
                                                 const std::vector<const InstanceConfig *> &sinks) {
    std::vector<ConfigError> out;
    for (const InstanceConfig *sink : sinks) {
        const Subscription &s = sink->subscription;
        const std::string name = sink->qualified_name();
        auto warn = [&](const std::string &key, const std::string &message) {
            out.push_back({sink->locate(key), name + (key.empty() ? "" : "." + key) + ": " + message});
        };
        std::vector<const RoutedInput *> subscribed;
        for (const RoutedInput &input : inputs)
            if (s.inputs.empty() || glob_any(s.inputs, input.name)) subscribed.push_back(&input);
        for (const std::string &glob : s.inputs)
            if (std::none_of(inputs.begin(), inputs.end(), [&](const RoutedInput &i) { return glob_any({glob}, i.name); }))
                warn("inputs", "'" + glob + "' matches no input instance (configured: " + names_of(inputs) + ")");
        auto declared = [&](auto &&accept) {
            for (const RoutedInput *input : subscribed)
                for (const RecordDeclaration *d : input->declarations)
                    if (accept(*d)) return true;
            return false;
        };
        for (const std::string &glob : s.match)
            if (!declared([&](const RecordDeclaration &d) { return glob_any({glob}, d.name); }))
                warn("match", "'" + glob + "' matches none of the records its inputs declare");
        const bool receives = declared([&](const RecordDeclaration &d) {
            return (d.is_metric() ? s.metrics : s.events) && (s.match.empty() || glob_any(s.match, d.name)) &&
                   !glob_any(s.exclude, d.name);
        });
        const bool said = std::any_of(out.begin(), out.end(), [&](const ConfigError &e) {
            return e.message.rfind(name + ".", 0) == 0;
        });
        if (!receives && !subscribed.empty() && !said)
            warn("", "receives no records: its kinds, match and exclude accept none of the records its inputs declare");
    }
    if (sinks.empty()) return out;  // said once as "no sink is running"
    std::vector<Subscription> subscriptions;
    for (const InstanceConfig *sink : sinks) subscriptions.push_back(sink->subscription);
    const RouteMap map = RouteMap::compile(inputs, subscriptions);
    for (const RoutedInput &input : inputs)
        if (!input.declarations.empty() && map.sinks_of_input(input.slot).empty())
            out.push_back({input.location, "inputs." + input.name + ": no sink receives any of its records"});
    return out;
}

const char *to_string(DropReason reason) {
    switch (reason) {
        case DropReason::queue_full: return "queue_full";
        case DropReason::sink_error: return "sink_error";
        case DropReason::shutdown: return "shutdown";
        case DropReason::output_closed: return "output_closed";
        case DropReason::unreported: return "unreported";
        default: return "unknown";
    }
}

SinkQueue::PushResult SinkQueue::push(BatchRef batch, bool may_wait) {
    PushResult result;
    const std::size_t n = batch->size();
    std::unique_lock lock(mutex_);
    if (closed_) {
        result.dropped = n;
        result.reason = closed_reason_;
        return result;
    }
    if (records_ + n > capacity_) {
        switch (policy_) {
            case OverflowPolicy::drop_newest:
                result.dropped = n;
                return result;
            case OverflowPolicy::drop_oldest:
                while (records_ + n > capacity_ && !batches_.empty()) {
                    records_ -= batches_.front()->size();
                    result.dropped += batches_.front()->size();
                    batches_.pop_front();
                }
                break;
            case OverflowPolicy::block:
                // On an io thread waiting would stall the consumer itself; the
                // input is throttled instead (see Agent), and this batch kept.
                if (may_wait) room_.wait(lock, [&] { return closed_ || records_ + n <= capacity_ || records_ == 0; });
                if (closed_) {
                    result.dropped = n;
                    result.reason = closed_reason_;
                    return result;
                }
                break;
        }
    }
    records_ += n;
    batches_.push_back(std::move(batch));
    if (!drain_scheduled_) drain_scheduled_ = result.schedule_drain = true;
    return result;
}

bool SinkQueue::take(std::vector<BatchRef> &out, std::size_t max_records) {
    std::lock_guard lock(mutex_);
    if (batches_.empty()) {
        drain_scheduled_ = false;
        return false;
    }
    std::size_t taken = 0;
    while (!batches_.empty() && (taken == 0 || taken + batches_.front()->size() <= max_records)) {
        taken += batches_.front()->size();
        out.push_back(std::move(batches_.front()));
        batches_.pop_front();
    }
    records_ -= taken;
    room_.notify_all();
    return true;
}

void SinkQueue::put_back(std::vector<BatchRef> &batches) {
    std::lock_guard lock(mutex_);
    for (auto it = batches.rbegin(); it != batches.rend(); ++it) {
        records_ += (*it)->size();
        batches_.push_front(std::move(*it));
    }
    batches.clear();
}

std::size_t SinkQueue::clear() {
    std::lock_guard lock(mutex_);
    std::size_t dropped = records_;
    batches_.clear();
    records_ = 0;
    room_.notify_all();
    return dropped;
}

void SinkQueue::close(DropReason why) {
    std::lock_guard lock(mutex_);
    if (!closed_) closed_reason_ = why;
    closed_ = true;
    room_.notify_all();
}

std::size_t SinkQueue::queued_records() const {
    std::lock_guard lock(mutex_);
    return records_;
}

bool SinkQueue::idle() const {
    std::lock_guard lock(mutex_);
    return batches_.empty() && !drain_scheduled_;
}

}  // namespace sonde::core
