// bpfinventory input: every BPF program and map on the host, walked by id
// each interval: counts and locked memory per type, optionally one series
// per object. No BPF program of its own. See README.md.
#include "ebpf/bpf.hpp"
#include <sonde/sdk.hpp>
#include "text/text.hpp"

#include <unistd.h>

#include <chrono>
#include <deque>
#include <map>

namespace sonde::bpf_inventory {
namespace {

const MetricSpec program_count{"bpf.program.count", SONDE_METRIC_GAUGE, "{program}", "Loaded BPF programs by type",
                               {"type"}};
const MetricSpec program_memlock{"bpf.program.memlock", SONDE_METRIC_GAUGE, "By",
                                 "Memory locked by BPF programs, by type (fdinfo memlock)", {"type"}};
const MetricSpec map_count{"bpf.map.count", SONDE_METRIC_GAUGE, "{map}", "BPF maps by type", {"type"}};
const MetricSpec map_memlock{"bpf.map.memlock", SONDE_METRIC_GAUGE, "By",
                             "Memory locked by BPF maps, by type (fdinfo memlock)", {"type"}};
const MetricSpec program_object{"bpf.program.object.memlock", SONDE_METRIC_GAUGE, "By",
                                "One series per program (per_object = true)", {"id", "name", "type"}};
const MetricSpec map_object{"bpf.map.object.memlock", SONDE_METRIC_GAUGE, "By",
                            "One series per map (per_object = true)",
                            {"id", "name", "type", "key_size", "value_size", "max_entries"}};
const MetricSpec duration{"bpf.inventory.duration", SONDE_METRIC_GAUGE, "s", "Time the last walk took", {}};
const MetricSpec errors{"bpf.inventory.errors", SONDE_METRIC_COUNTER, "{error}",
                        "Objects that could not be read (objects vanishing mid-walk are not errors)", {"reason"}};

// An fd that closes itself.
struct Fd {
    int fd;
    explicit Fd(int f) : fd(f) {}
    ~Fd() {
        if (fd >= 0) close(fd);
    }
    Fd(const Fd &) = delete;
    Fd &operator=(const Fd &) = delete;
};

// The `memlock:` line of /proc/self/fdinfo/<fd>, in bytes; 0 if absent.
std::uint64_t memlock_of(int fd) {
    int info = ::open(("/proc/self/fdinfo/" + std::to_string(fd)).c_str(), O_RDONLY | O_CLOEXEC);
    if (info < 0) return 0;
    char buffer[1024];
    ssize_t n = ::read(info, buffer, sizeof buffer);
    ::close(info);
    text::Lines lines(std::string_view(buffer, n > 0 ? static_cast<std::size_t>(n) : 0));
    std::string_view line;
    while (lines.next(line))
        if (line.rfind("memlock:", 0) == 0) return text::number<std::uint64_t>(text::trim(line.substr(8))).value_or(0);
    return 0;
}

struct Totals {
    std::uint64_t count = 0, memlock = 0;
};

class BpfInventory final : public InputPlugin {
public:
    explicit BpfInventory(Context &ctx)
        : InputPlugin(ctx),
          per_object_(ctx.config().get_bool("per_object", false)),
          name_prefix_(ctx.config().get_string("name_prefix", "")),
          max_objects_(ctx.config().get_int("max_objects", 10000, 1, 1 << 20)),
          program_count_(ctx.declare(program_count)),
          program_memlock_(ctx.declare(program_memlock)),
          map_count_(ctx.declare(map_count)),
          map_memlock_(ctx.declare(map_memlock)),
          program_object_(ctx.declare(program_object)),
          map_object_(ctx.declare(map_object)),
          duration_(ctx.declare(duration)),
          errors_(ctx.declare(errors)) {
        if (max_objects_ < 1) throw ConfigError("max_objects", "must be at least 1");
    }

    void start() override {
        std::uint32_t first = 0;
        if (bpf_prog_get_next_id(0, &first) != 0 && errno == EPERM)
            throw Unavailable("needs root (CAP_SYS_ADMIN) to list BPF programs and maps (running as uid " +
                              std::to_string(geteuid()) + ")");
        collect();
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

private:
    // Timer callbacks of an instance never overlap, so walks never run twice at once.
    void collect() {
        auto began = std::chrono::steady_clock::now();
        const std::int64_t now = now_ns();
        std::map<std::string, Totals> programs, maps;
        names_.clear();
        walk_programs(programs, now);
        walk_maps(maps, now);
        for (auto &[type, t] : programs) {
            program_count_.add(uint_value(t.count), {str(type)}, now);
            program_memlock_.add(uint_value(t.memlock), {str(type)}, now);
        }
        for (auto &[type, t] : maps) {
            map_count_.add(uint_value(t.count), {str(type)}, now);
            map_memlock_.add(uint_value(t.memlock), {str(type)}, now);
        }
        duration_.add(double_value(std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count()), {},
                      now);
        for (auto &[reason, n] : error_counts_) errors_.add(uint_value(n), {str(reason)}, now);
        for (MetricBuffer *m : {&program_count_, &program_memlock_, &map_count_, &map_memlock_, &program_object_,
                                &map_object_, &duration_, &errors_})
            m->emit(ctx_);
    }

    void walk_programs(std::map<std::string, Totals> &totals, std::int64_t now) {
        std::uint32_t id = 0;
        std::int64_t seen = 0;
        while (bpf_prog_get_next_id(id, &id) == 0) {
            Fd fd(bpf_prog_get_fd_by_id(id));
            if (fd.fd < 0) {
                if (errno != ENOENT) ++error_counts_["open_program"];  // ENOENT: gone since the id was listed
                continue;
            }
            bpf_prog_info info{};
            std::uint32_t size = sizeof info;
            if (bpf_obj_get_info_by_fd(fd.fd, &info, &size) != 0) {
                ++error_counts_["program_info"];
                continue;
            }
            if (!name_prefix_.empty() && std::string_view(info.name).rfind(name_prefix_, 0) != 0) continue;
            if (++seen > max_objects_) {
                ++error_counts_["max_objects"];
                break;
            }
            const char *type = libbpf_bpf_prog_type_str(static_cast<bpf_prog_type>(info.type));
            std::uint64_t memlock = memlock_of(fd.fd);
            Totals &t = totals[type ? type : "unknown"];
            ++t.count;
            t.memlock += memlock;
            if (per_object_)
                program_object_.add(uint_value(memlock),
                                    {uint_value(info.id), str(names_.emplace_back(info.name)), str(type ? type : "unknown")},
                                    now);
        }
    }

    void walk_maps(std::map<std::string, Totals> &totals, std::int64_t now) {
        std::uint32_t id = 0;
        std::int64_t seen = 0;
        while (bpf_map_get_next_id(id, &id) == 0) {
            Fd fd(bpf_map_get_fd_by_id(id));
            if (fd.fd < 0) {
                if (errno != ENOENT) ++error_counts_["open_map"];
                continue;
            }
            bpf_map_info info{};
            std::uint32_t size = sizeof info;
            if (bpf_obj_get_info_by_fd(fd.fd, &info, &size) != 0) {
                ++error_counts_["map_info"];
                continue;
            }
            if (++seen > max_objects_) {
                ++error_counts_["max_objects"];
                break;
            }
            const char *type = libbpf_bpf_map_type_str(static_cast<bpf_map_type>(info.type));
            std::uint64_t memlock = memlock_of(fd.fd);
            Totals &t = totals[type ? type : "unknown"];
            ++t.count;
            t.memlock += memlock;
            if (per_object_)
                map_object_.add(uint_value(memlock),
                                {uint_value(info.id), str(names_.emplace_back(info.name)), str(type ? type : "unknown"),
                                 uint_value(info.key_size), uint_value(info.value_size), uint_value(info.max_entries)},
                                now);
        }
    }

    bool per_object_;
    std::string name_prefix_;
    std::int64_t max_objects_;
    std::deque<std::string> names_;  // object names, alive until the cycle's emit
    std::map<std::string, std::uint64_t> error_counts_;
    MetricBuffer program_count_, program_memlock_, map_count_, map_memlock_, program_object_, map_object_, duration_,
        errors_;
};

}  // namespace
}  // namespace sonde::bpf_inventory

SONDE_INPUT_PLUGIN(sonde::bpf_inventory::BpfInventory, "bpfinventory", "0.1.0",
                   "Loaded BPF programs and maps: counts and locked memory by type")
