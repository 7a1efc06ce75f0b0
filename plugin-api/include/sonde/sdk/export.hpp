// The export glue: SONDE_INPUT_PLUGIN and SONDE_SINK_PLUGIN turn a plugin
// class into the C descriptor of plugin_api.h, with every exception caught at
// the boundary (ConfigError -> SONDE_ERR_CONFIG with its key, Unavailable ->
// SONDE_ERR_UNAVAILABLE, anything else -> SONDE_ERR_INTERNAL).
#pragma once

#include <sonde/plugin_api.h>
#include <sonde/sdk/context.hpp>
#include <sonde/sdk/errors.hpp>
#include <sonde/sdk/plugin.hpp>

#include <cstddef>
#include <cstring>
#include <exception>
#include <optional>
#include <string_view>
#include <type_traits>

namespace sonde::detail {

// Copies `message` (and `key`, if the host's sonde_error has room for it)
// into the caller's buffers, cut to their capacity and NUL-terminated.
inline void write_error(sonde_error *error, std::string_view message, std::string_view key = {}) {
    if (!error) return;
    auto copy = [](char *dst, std::size_t capacity, std::string_view src) {
        if (!dst || capacity == 0) return;
        std::size_t n = src.size() < capacity - 1 ? src.size() : capacity - 1;
        if (n) std::memcpy(dst, src.data(), n);  // an empty view's data() may be null
        dst[n] = '\0';
    };
    copy(error->message, error->message_capacity, message);
    if (error->struct_size >= offsetof(sonde_error, key_capacity) + sizeof(std::size_t))
        copy(error->key, error->key_capacity, key);
}

// Runs fn, mapping exceptions to status codes; never lets one escape.
template <typename Fn>
sonde_status guarded(sonde_error *error, Fn &&fn) noexcept {
    try {
        return fn();
    } catch (const ConfigError &e) {
        write_error(error, e.what(), e.key());
        return SONDE_ERR_CONFIG;
    } catch (const Unavailable &e) {
        write_error(error, e.what());
        return SONDE_ERR_UNAVAILABLE;
    } catch (const std::exception &e) {
        write_error(error, e.what());
        return SONDE_ERR_INTERNAL;
    } catch (...) {
        write_error(error, "unknown exception");
        return SONDE_ERR_INTERNAL;
    }
}

// What the host holds as sonde_instance*: the context and the plugin object.
// Constructing it runs the plugin's constructor and then checks the table
// (Config::finish), so that every unknown and missing key is reported at
// once; when the constructor throws first, the missing keys noted so far go
// with its error.
template <typename Plugin>
struct Holder {
    Holder(const sonde_instance_info &info, Context::Purpose purpose) : context(info, purpose) {
        try {
            plugin.emplace(context);
        } catch (const ConfigError &e) {
            if (context.describing()) throw;
            throw context.config().with_missing_keys(e.key(), e.what());
        }
        if (!context.describing()) context.config().finish();
    }
    Context context;
    std::optional<Plugin> plugin;
};

template <typename Plugin>
Holder<Plugin> *holder(sonde_instance *instance) {
    return reinterpret_cast<Holder<Plugin> *>(instance);
}

// The plugin's ops, each a noexcept function over the class.
template <typename Plugin>
struct Glue {
    static constexpr bool sink = std::is_base_of_v<SinkPlugin, Plugin>;

    static sonde_status create(const sonde_instance_info *info, sonde_instance **out, sonde_error *error) noexcept {
        return guarded(error, [&] {
            *out = reinterpret_cast<sonde_instance *>(new Holder<Plugin>(*info, Context::Purpose::run));
            return SONDE_OK;
        });
    }
    // ABI 1.4: the constructor runs with an empty, lenient table (required
    // keys value-initialized, nothing refused) and declares the records; the
    // object is destroyed before returning.
    static sonde_status describe(const sonde_instance_info *info, sonde_error *error) noexcept {
        return guarded(error, [&] {
            Holder<Plugin> described(*info, Context::Purpose::describe);
            return SONDE_OK;
        });
    }
    static sonde_status start(sonde_instance *instance, sonde_error *error) noexcept {
        return guarded(error, [&] {
            holder<Plugin>(instance)->plugin->start();
            return SONDE_OK;
        });
    }
    // stop() and on_input_stopped() return nothing to the host: an exception
    // from them is logged under the instance's name instead.
    static void stop(sonde_instance *instance) noexcept {
        auto *h = holder<Plugin>(instance);
        logged(h->context, "stop", [&] { h->plugin->stop(); });
        h->context.forget_callbacks();
    }
    static void destroy(sonde_instance *instance) noexcept { delete holder<Plugin>(instance); }
    static sonde_status consume(sonde_instance *instance, const sonde_batch *batch, sonde_error *error) noexcept {
        if constexpr (sink)
            return guarded(error, [&] { return holder<Plugin>(instance)->plugin->consume(*batch); });
        else
            return SONDE_ERR_INTERNAL;
    }
    static sonde_status flush(sonde_instance *instance, sonde_error *error) noexcept {
        if constexpr (sink)
            return guarded(error, [&] {
                holder<Plugin>(instance)->plugin->flush();
                return SONDE_OK;
            });
        else
            return SONDE_ERR_INTERNAL;
    }
    static void input_stopped(sonde_instance *instance, const char *input_name) noexcept {
        if constexpr (sink) {
            auto *h = holder<Plugin>(instance);
            logged(h->context, "on_input_stopped", [&] { h->plugin->on_input_stopped(input_name); });
        }
    }
    template <typename Fn>
    static void logged(Context &context, const char *what, Fn &&fn) noexcept {
        char message[512] = {};
        sonde_error error{sizeof error, 0, message, sizeof message, nullptr, 0};
        if (guarded(&error, [&] {
                fn();
                return SONDE_OK;
            }) != SONDE_OK) {
            try {
                context.error(std::string(what) + " failed: " + message);
            } catch (...) {  // out of memory while logging: nothing more to do
            }
        }
    }

    // The ops table of SONDE_TARGET_ABI_MINOR: its struct_size ends where that
    // minor's table ended, so the host reads nothing a plugin of that minor
    // could not have set.
    static constexpr sonde_plugin_ops ops() {
        std::uint64_t flags = 0;
        if constexpr (sink) {
            static_assert(!Plugin::reports_delivery || SONDE_TARGET_ABI_MINOR >= 2,
                          "reports_delivery needs plugin ABI 1.2: raise SONDE_TARGET_ABI_MINOR");
            if (Plugin::reports_delivery) flags |= SONDE_SINK_REPORTS_DELIVERY;
        }
        sonde_plugin_ops ops{};
        ops.struct_size = SONDE_TARGET_ABI_MINOR >= 4   ? SONDE_PLUGIN_OPS_SIZE_1_4
                          : SONDE_TARGET_ABI_MINOR >= 2 ? SONDE_PLUGIN_OPS_SIZE_1_3
                          : SONDE_TARGET_ABI_MINOR >= 1 ? SONDE_PLUGIN_OPS_SIZE_1_1
                                                        : SONDE_PLUGIN_OPS_SIZE_1_0;
        ops.create = &create;
        ops.start = &start;
        ops.stop = &stop;
        ops.destroy = &destroy;
        ops.consume = sink ? &consume : nullptr;
        ops.flush = sink ? &flush : nullptr;
        if constexpr (SONDE_TARGET_ABI_MINOR >= 1) ops.input_stopped = sink ? &input_stopped : nullptr;
        if constexpr (SONDE_TARGET_ABI_MINOR >= 2) ops.flags = flags;
        if constexpr (SONDE_TARGET_ABI_MINOR >= 4) ops.describe = &describe;
        return ops;
    }
};

// Compile-time checks of a plugin class, so a mistake is an error in the
// author's file rather than a crash in the host.
template <typename Plugin, sonde_plugin_kind Kind>
constexpr void check_plugin_class() {
    if constexpr (Kind == SONDE_PLUGIN_INPUT)
        static_assert(std::is_base_of_v<InputPlugin, Plugin>,
                      "SONDE_INPUT_PLUGIN needs a class derived from sonde::InputPlugin");
    else
        static_assert(std::is_base_of_v<SinkPlugin, Plugin>,
                      "SONDE_SINK_PLUGIN needs a class derived from sonde::SinkPlugin");
    static_assert(std::is_constructible_v<Plugin, Context &>,
                  "a plugin class needs a constructor taking (sonde::Context &)");
    static_assert(!std::is_abstract_v<Plugin>, "a plugin class must implement every pure virtual member");
}

}  // namespace sonde::detail

#define SONDE_EXPORT_ extern "C" __attribute__((visibility("default")))

// The body of a function returning the class's descriptor (static lifetime),
// which declares SONDE_TARGET_ABI_MINOR.
#define SONDE_DESCRIPTOR_BODY_(Class, Kind, Name, Version, Description)                            \
    static constexpr sonde_plugin_ops ops = sonde::detail::Glue<Class>::ops();                      \
    static constexpr sonde_plugin_descriptor descriptor = {                                         \
        sizeof(sonde_plugin_descriptor), SONDE_ABI_MAJOR, SONDE_TARGET_ABI_MINOR, Kind, Name, Version, \
        Description, &ops};                                                                         \
    return &descriptor;

#define SONDE_PLUGIN_(Class, Kind, Name, Version, Description)                                   \
    static_assert((sonde::detail::check_plugin_class<Class, Kind>(), true));                      \
    SONDE_EXPORT_ const struct sonde_abi_version sonde_plugin_abi = {SONDE_ABI_MAJOR,             \
                                                                     SONDE_TARGET_ABI_MINOR};     \
    SONDE_EXPORT_ const sonde_plugin_descriptor *sonde_plugin_entry_v1(void) {                    \
        SONDE_DESCRIPTOR_BODY_(Class, Kind, Name, Version, Description)                            \
    }

// Export an input plugin class under a unique name ([a-z0-9_]+), with its own
// version and a one-line description. Once per shared object.
#define SONDE_INPUT_PLUGIN(Class, Name, Version, Description) \
    SONDE_PLUGIN_(Class, SONDE_PLUGIN_INPUT, Name, Version, Description)

// Export a sink plugin class under a unique name, as SONDE_INPUT_PLUGIN.
#define SONDE_SINK_PLUGIN(Class, Name, Version, Description) \
    SONDE_PLUGIN_(Class, SONDE_PLUGIN_SINK, Name, Version, Description)

// For a plugin compiled into the host itself (sonde's `self` input): defines
// `const sonde_plugin_descriptor *Function()` instead of exporting the entry
// symbol, for the host to register without loading a shared object. A
// third-party plugin never needs it.
#define SONDE_BUILTIN_INPUT_PLUGIN(Function, Class, Name, Version, Description)                  \
    static_assert((sonde::detail::check_plugin_class<Class, SONDE_PLUGIN_INPUT>(), true));        \
    const sonde_plugin_descriptor *Function() { SONDE_DESCRIPTOR_BODY_(Class, SONDE_PLUGIN_INPUT, Name, Version, Description) }
