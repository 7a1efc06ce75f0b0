// procfs input: CPU times, context switches and processes (/proc/stat),
// memory (/proc/meminfo), load (/proc/loadavg) and disks (/proc/diskstats),
// named after OpenTelemetry's system metrics. See README.md for the table.
#include "procfs_parsers.hpp"

#include "text/name_filter.hpp"
#include <sonde/sdk.hpp>
#include "files/source_file.hpp"

#include <unistd.h>

namespace sonde::procfs {
namespace {

// Everything this plugin emits; README.md is written from this table.
// Per CPU or all CPUs together, never both under one name: a sum over the
// series of one metric must not count a CPU twice.
const MetricSpec cpu_time{"system.cpu.time", SONDE_METRIC_COUNTER, "s", "CPU time by logical CPU and state (per_cpu = true)",
                          {"cpu", "state"}};
const MetricSpec cpu_aggregate_time{"system.cpu.aggregate_time", SONDE_METRIC_COUNTER, "s",
                                    "CPU time of all CPUs together by state, the all-CPU line of /proc/stat "
                                    "(per_cpu = false)",
                                    {"state"}};
const MetricSpec context_switches{"system.context_switches", SONDE_METRIC_COUNTER, "{context_switch}",
                                  "Context switches since boot", {}};
const MetricSpec processes_created{"system.process.created", SONDE_METRIC_COUNTER, "{process}",
                                   "Processes and threads created since boot", {}};
const MetricSpec process_count{"system.process.count", SONDE_METRIC_GAUGE, "{process}",
                               "Processes running or blocked on I/O", {"status"}};
const MetricSpec memory_usage{"system.memory.usage", SONDE_METRIC_GAUGE, "By",
                              "Memory in use by state (used, free, buffered, cached, slab_reclaimable, "
                              "slab_unreclaimable)",
                              {"state"}};
const MetricSpec memory_limit{"system.memory.limit", SONDE_METRIC_GAUGE, "By", "Total usable memory (MemTotal)", {}};
const MetricSpec memory_available{"system.linux.memory.available", SONDE_METRIC_GAUGE, "By",
                                  "Memory available for new work without swapping (MemAvailable)", {}};
const MetricSpec memory_linux{"system.linux.memory.state", SONDE_METRIC_GAUGE, "By",
                              "Active, inactive, dirty and writeback memory", {"state"}};
const MetricSpec paging_usage{"system.paging.usage", SONDE_METRIC_GAUGE, "By", "Swap space by state (used, free)",
                              {"state"}};
const MetricSpec meminfo_bytes{"system.linux.meminfo.bytes", SONDE_METRIC_GAUGE, "By",
                               "Every kB field of /proc/meminfo (meminfo_all = true)", {"field"}};
const MetricSpec meminfo_count{"system.linux.meminfo.count", SONDE_METRIC_GAUGE, "{page}",
                               "Every unitless field of /proc/meminfo, counts of huge pages (meminfo_all = true)",
                               {"field"}};
const MetricSpec load_1m{"system.cpu.load_average.1m", SONDE_METRIC_GAUGE, "{thread}", "Load average over 1 minute", {}};
const MetricSpec load_5m{"system.cpu.load_average.5m", SONDE_METRIC_GAUGE, "{thread}", "Load average over 5 minutes", {}};
const MetricSpec load_15m{"system.cpu.load_average.15m", SONDE_METRIC_GAUGE, "{thread}",
                          "Load average over 15 minutes", {}};
const MetricSpec tasks{"system.linux.tasks", SONDE_METRIC_GAUGE, "{task}",
                       "Kernel scheduling entities by state (runnable, all) from /proc/loadavg", {"state"}};
const MetricSpec disk_operations{"system.disk.operations", SONDE_METRIC_COUNTER, "{operation}",
                                 "Completed disk operations", {"device", "direction"}};
const MetricSpec disk_io{"system.disk.io", SONDE_METRIC_COUNTER, "By", "Bytes read and written",
                         {"device", "direction"}};
const MetricSpec disk_operation_time{"system.disk.operation_time", SONDE_METRIC_COUNTER, "s",
                                     "Time spent in completed operations", {"device", "direction"}};
const MetricSpec disk_merged{"system.disk.merged", SONDE_METRIC_COUNTER, "{operation}",
                             "Adjacent operations merged by the kernel", {"device", "direction"}};
const MetricSpec disk_pending{"system.disk.pending_operations", SONDE_METRIC_GAUGE, "{operation}",
                              "Operations in flight", {"device"}};
const MetricSpec disk_io_time{"system.disk.io_time", SONDE_METRIC_COUNTER, "s", "Time the disk was busy", {"device"}};
const MetricSpec disk_weighted_io_time{"system.disk.weighted_io_time", SONDE_METRIC_COUNTER, "s",
                                       "Busy time weighted by operations in flight", {"device"}};

const std::vector<std::string> default_device_exclude{"loop*", "ram*", "fd*", "sr*"};

class Procfs final : public InputPlugin {
public:
    explicit Procfs(Context &ctx)
        : InputPlugin(ctx),
          root_(ctx.config().get_string("proc_root", "/proc")),
          cpu_(ctx.config().get_bool("cpu", true)),
          per_cpu_(ctx.config().get_bool("per_cpu", true)),
          memory_(ctx.config().get_bool("memory", true)),
          meminfo_all_(ctx.config().get_bool("meminfo_all", false)),
          load_(ctx.config().get_bool("load", true)),
          disks_(ctx.config().get_bool("disks", true)),
          device_filter_(ctx.config().get_strings("devices_include", {}),
                         ctx.config().get_strings("devices_exclude", default_device_exclude)),
          stat_file_(root_ + "/stat"),
          meminfo_file_(root_ + "/meminfo"),
          loadavg_file_(root_ + "/loadavg"),
          diskstats_file_(root_ + "/diskstats") {
        long ticks = sysconf(_SC_CLK_TCK);
        ticks_per_second_ = ticks > 0 ? static_cast<double>(ticks) : 100.0;
        // Everything is declared, whatever is enabled, so `sonde plugins
        // --describe procfs` lists all this plugin can emit.
        cpu_time_ = ctx.declare(cpu_time);
        cpu_aggregate_time_ = ctx.declare(cpu_aggregate_time);
        context_switches_ = ctx.declare(context_switches);
        processes_created_ = ctx.declare(processes_created);
        process_count_ = ctx.declare(process_count);
        memory_usage_ = ctx.declare(memory_usage);
        memory_limit_ = ctx.declare(memory_limit);
        memory_available_ = ctx.declare(memory_available);
        memory_linux_ = ctx.declare(memory_linux);
        paging_usage_ = ctx.declare(paging_usage);
        meminfo_bytes_ = ctx.declare(meminfo_bytes);
        meminfo_count_ = ctx.declare(meminfo_count);
        load_1m_ = ctx.declare(load_1m);
        load_5m_ = ctx.declare(load_5m);
        load_15m_ = ctx.declare(load_15m);
        tasks_ = ctx.declare(tasks);
        disk_operations_ = ctx.declare(disk_operations);
        disk_io_ = ctx.declare(disk_io);
        disk_operation_time_ = ctx.declare(disk_operation_time);
        disk_merged_ = ctx.declare(disk_merged);
        disk_pending_ = ctx.declare(disk_pending);
        disk_io_time_ = ctx.declare(disk_io_time);
        disk_weighted_io_time_ = ctx.declare(disk_weighted_io_time);
    }

    void start() override {
        collect();
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

private:
    void collect() {
        const std::int64_t now = now_ns();
        if (cpu_) collect_stat(now);
        if (memory_) collect_memory(now);
        if (load_) collect_load(now);
        if (disks_) collect_disks(now);
    }

    void collect_stat(std::int64_t now) {
        auto text = stat_file_.read(ctx_);
        if (!text) return;
        auto error = parse_stat(*text, ticks_per_second_, stat_);
        stat_file_.parsed(ctx_, error);
        if (error) return;
        if (per_cpu_) {
            for (const CpuTimes &cpu : stat_.cpus)
                for (std::size_t s = 0; s < cpu_states.size(); ++s)
                    cpu_time_.add(double_value(cpu.seconds[s]), {str(cpu.cpu), str(cpu_states[s])}, now);
            cpu_time_.emit(ctx_);
        } else if (stat_.all_cpus) {
            for (std::size_t s = 0; s < cpu_states.size(); ++s)
                cpu_aggregate_time_.add(double_value(stat_.all_cpus->seconds[s]), {str(cpu_states[s])}, now);
            cpu_aggregate_time_.emit(ctx_);
        }
        context_switches_.add(uint_value(stat_.context_switches), {}, now);
        context_switches_.emit(ctx_);
        processes_created_.add(uint_value(stat_.processes_created), {}, now);
        processes_created_.emit(ctx_);
        process_count_.add(uint_value(stat_.procs_running), {str("running")}, now);
        process_count_.add(uint_value(stat_.procs_blocked), {str("blocked")}, now);
        process_count_.emit(ctx_);
    }

    void collect_memory(std::int64_t now) {
        auto text = meminfo_file_.read(ctx_);
        if (!text) return;
        auto error = parse_meminfo(*text, meminfo_);
        meminfo_file_.parsed(ctx_, error);
        if (error) return;
        auto field = [&](std::string_view name) { return meminfo_.find(name).value_or(0); };
        const std::uint64_t total = field("MemTotal"), free = field("MemFree"), buffers = field("Buffers"),
                            cached = field("Cached"), reclaimable = field("SReclaimable");
        const std::uint64_t accounted = free + buffers + cached + reclaimable;
        const std::uint64_t used = total > accounted ? total - accounted : 0;
        auto gauge = [&](MetricBuffer &m, std::uint64_t v, std::initializer_list<sonde_value> attrs) {
            m.add(uint_value(v), attrs, now);
        };
        gauge(memory_usage_, used, {str("used")});
        gauge(memory_usage_, free, {str("free")});
        gauge(memory_usage_, buffers, {str("buffered")});
        gauge(memory_usage_, cached, {str("cached")});
        gauge(memory_usage_, reclaimable, {str("slab_reclaimable")});
        gauge(memory_usage_, field("SUnreclaim"), {str("slab_unreclaimable")});
        memory_usage_.emit(ctx_);
        gauge(memory_limit_, total, {});
        memory_limit_.emit(ctx_);
        if (auto available = meminfo_.find("MemAvailable")) {
            gauge(memory_available_, *available, {});
            memory_available_.emit(ctx_);
        }
        gauge(memory_linux_, field("Active"), {str("active")});
        gauge(memory_linux_, field("Inactive"), {str("inactive")});
        gauge(memory_linux_, field("Dirty"), {str("dirty")});
        gauge(memory_linux_, field("Writeback"), {str("writeback")});
        memory_linux_.emit(ctx_);
        const std::uint64_t swap_total = field("SwapTotal"), swap_free = field("SwapFree");
        gauge(paging_usage_, swap_total > swap_free ? swap_total - swap_free : 0, {str("used")});
        gauge(paging_usage_, swap_free, {str("free")});
        paging_usage_.emit(ctx_);
        if (meminfo_all_) {
            for (const MemField &f : meminfo_.fields)
                gauge(f.in_bytes ? meminfo_bytes_ : meminfo_count_, f.value, {str(f.name)});
            meminfo_bytes_.emit(ctx_);
            meminfo_count_.emit(ctx_);
        }
    }

    void collect_load(std::int64_t now) {
        auto text = loadavg_file_.read(ctx_);
        if (!text) return;
        LoadAvg load;
        auto error = parse_loadavg(*text, load);
        loadavg_file_.parsed(ctx_, error);
        if (error) return;
        load_1m_.add(double_value(load.one), {}, now);
        load_5m_.add(double_value(load.five), {}, now);
        load_15m_.add(double_value(load.fifteen), {}, now);
        tasks_.add(uint_value(load.runnable), {str("runnable")}, now);
        tasks_.add(uint_value(load.total), {str("all")}, now);
        for (MetricBuffer *m : {&load_1m_, &load_5m_, &load_15m_, &tasks_}) m->emit(ctx_);
    }

    void collect_disks(std::int64_t now) {
        auto text = diskstats_file_.read(ctx_);
        if (!text) return;
        auto error = parse_diskstats(*text, disks_stats_);
        diskstats_file_.parsed(ctx_, error);
        if (error) return;
        const sonde_value read = str("read"), write = str("write");
        for (const DiskStats &d : disks_stats_) {
            if (!device_filter_.admits(d.device)) continue;
            const sonde_value dev = str(d.device);
            disk_operations_.add(uint_value(d.reads), {dev, read}, now);
            disk_operations_.add(uint_value(d.writes), {dev, write}, now);
            disk_io_.add(uint_value(d.read_bytes), {dev, read}, now);
            disk_io_.add(uint_value(d.written_bytes), {dev, write}, now);
            disk_operation_time_.add(double_value(d.read_seconds), {dev, read}, now);
            disk_operation_time_.add(double_value(d.write_seconds), {dev, write}, now);
            disk_merged_.add(uint_value(d.reads_merged), {dev, read}, now);
            disk_merged_.add(uint_value(d.writes_merged), {dev, write}, now);
            disk_pending_.add(uint_value(d.in_flight), {dev}, now);
            disk_io_time_.add(double_value(d.io_seconds), {dev}, now);
            disk_weighted_io_time_.add(double_value(d.weighted_io_seconds), {dev}, now);
        }
        for (MetricBuffer *m : {&disk_operations_, &disk_io_, &disk_operation_time_, &disk_merged_, &disk_pending_,
                                &disk_io_time_, &disk_weighted_io_time_})
            m->emit(ctx_);
    }

    std::string root_;
    bool cpu_, per_cpu_, memory_, meminfo_all_, load_, disks_;
    NameFilter device_filter_;
    double ticks_per_second_ = 100;

    SourceFile stat_file_, meminfo_file_, loadavg_file_, diskstats_file_;
    ProcStat stat_;
    MemInfo meminfo_;
    std::vector<DiskStats> disks_stats_;

    MetricBuffer cpu_time_, cpu_aggregate_time_, context_switches_, processes_created_, process_count_;
    MetricBuffer memory_usage_, memory_limit_, memory_available_, memory_linux_, paging_usage_, meminfo_bytes_,
        meminfo_count_;
    MetricBuffer load_1m_, load_5m_, load_15m_, tasks_;
    MetricBuffer disk_operations_, disk_io_, disk_operation_time_, disk_merged_, disk_pending_, disk_io_time_,
        disk_weighted_io_time_;
};

}  // namespace
}  // namespace sonde::procfs

SONDE_INPUT_PLUGIN(sonde::procfs::Procfs, "procfs", "0.1.0", "CPU, memory, load and disk metrics from /proc")
