// net input: per-interface traffic (/proc/net/dev), TCP connections by state
// (NETLINK_SOCK_DIAG, /proc/net/tcp{,6} as fallback) and TCP/UDP counters
// (/proc/net/snmp, /proc/net/netstat). See README.md for the table.
#include "net_parsers.hpp"
#include "tcp_diag.hpp"

#include "text/name_filter.hpp"
#include <sonde/sdk.hpp>
#include "files/source_file.hpp"

#include <sys/socket.h>

#include <memory>

namespace sonde::net {
namespace {

// Everything this plugin emits; README.md is written from this table.
const MetricSpec network_io{"system.network.io", SONDE_METRIC_COUNTER, "By", "Bytes received and transmitted",
                            {"device", "direction"}};
const MetricSpec network_packets{"system.network.packets", SONDE_METRIC_COUNTER, "{packet}",
                                 "Packets received and transmitted", {"device", "direction"}};
const MetricSpec network_errors{"system.network.errors", SONDE_METRIC_COUNTER, "{error}",
                                "Receive and transmit errors", {"device", "direction"}};
const MetricSpec network_dropped{"system.network.dropped", SONDE_METRIC_COUNTER, "{packet}",
                                 "Packets dropped on receive and transmit", {"device", "direction"}};
const MetricSpec connections{"system.network.connections", SONDE_METRIC_GAUGE, "{connection}",
                             "TCP sockets by address family and state", {"protocol", "family", "state"}};
const MetricSpec tcp_segments{"system.network.tcp.segments", SONDE_METRIC_COUNTER, "{segment}",
                              "TCP segments received and sent", {"direction"}};
const MetricSpec tcp_retransmits{"system.network.tcp.retransmitted_segments", SONDE_METRIC_COUNTER, "{segment}",
                                 "TCP segments retransmitted", {}};
const MetricSpec tcp_opens{"system.network.tcp.opens", SONDE_METRIC_COUNTER, "{connection}",
                           "TCP connections opened actively (connect) and passively (accept)", {"type"}};
const MetricSpec tcp_in_errors{"system.network.tcp.in_errors", SONDE_METRIC_COUNTER, "{segment}",
                               "TCP segments received in error", {}};
const MetricSpec tcp_resets_sent{"system.network.tcp.resets_sent", SONDE_METRIC_COUNTER, "{segment}",
                                 "TCP segments sent with RST", {}};
const MetricSpec tcp_listen_drops{"system.network.tcp.listen_drops", SONDE_METRIC_COUNTER, "{connection}",
                                  "Connections dropped at a listening socket", {}};
const MetricSpec tcp_listen_overflows{"system.network.tcp.listen_overflows", SONDE_METRIC_COUNTER, "{connection}",
                                      "Times a listen queue overflowed", {}};
const MetricSpec udp_datagrams{"system.network.udp.datagrams", SONDE_METRIC_COUNTER, "{datagram}",
                               "UDP datagrams received and sent", {"direction"}};
const MetricSpec udp_errors{"system.network.udp.errors", SONDE_METRIC_COUNTER, "{datagram}",
                            "UDP errors by type (receive, no_port, receive_buffer, send_buffer)", {"type"}};

enum class TcpStateSource { automatic, netlink, proc };

TcpStateSource parse_source(const std::string &s) {
    if (s == "auto") return TcpStateSource::automatic;
    if (s == "netlink") return TcpStateSource::netlink;
    if (s == "proc") return TcpStateSource::proc;
    throw ConfigError("tcp_state_source", "expected \"auto\", \"netlink\" or \"proc\"");
}

class Net final : public InputPlugin {
public:
    explicit Net(Context &ctx)
        : InputPlugin(ctx),
          root_(ctx.config().get_string("proc_root", "/proc")),
          interfaces_(ctx.config().get_bool("interfaces", true)),
          tcp_states_(ctx.config().get_bool("tcp_states", true)),
          protocol_counters_(ctx.config().get_bool("protocol_counters", true)),
          interface_filter_(ctx.config().get_strings("interfaces_include", {}),
                            ctx.config().get_strings("interfaces_exclude", {})),
          tcp_source_(parse_source(ctx.config().get_string("tcp_state_source", "auto"))),
          dev_file_(root_ + "/net/dev"),
          snmp_file_(root_ + "/net/snmp"),
          netstat_file_(root_ + "/net/netstat"),
          tcp_file_(root_ + "/net/tcp"),
          tcp6_file_(root_ + "/net/tcp6") {
        network_io_ = ctx.declare(network_io);
        network_packets_ = ctx.declare(network_packets);
        network_errors_ = ctx.declare(network_errors);
        network_dropped_ = ctx.declare(network_dropped);
        connections_ = ctx.declare(connections);
        tcp_segments_ = ctx.declare(tcp_segments);
        tcp_retransmits_ = ctx.declare(tcp_retransmits);
        tcp_opens_ = ctx.declare(tcp_opens);
        tcp_in_errors_ = ctx.declare(tcp_in_errors);
        tcp_resets_sent_ = ctx.declare(tcp_resets_sent);
        tcp_listen_drops_ = ctx.declare(tcp_listen_drops);
        tcp_listen_overflows_ = ctx.declare(tcp_listen_overflows);
        udp_datagrams_ = ctx.declare(udp_datagrams);
        udp_errors_ = ctx.declare(udp_errors);
    }

    void start() override {
        if (tcp_states_ && tcp_source_ != TcpStateSource::proc) {
            diag_ = std::make_unique<TcpDiag>();
            if (!diag_->ok()) {
                if (tcp_source_ == TcpStateSource::netlink) throw Unavailable(diag_->error());
                ctx_.warn(diag_->error() + "; falling back to " + tcp_file_.path());
                diag_.reset();
            }
        }
        if (tcp_states_) ctx_.info(std::string("TCP states from ") + (diag_ ? "NETLINK_SOCK_DIAG" : "/proc/net/tcp{,6}"));
        collect();
        ctx_.every(ctx_.interval_ns(), [this] { collect(); });
    }

    void stop() override { diag_.reset(); }

private:
    void collect() {
        const std::int64_t now = now_ns();
        if (interfaces_) collect_interfaces(now);
        if (tcp_states_) collect_tcp_states(now);
        if (protocol_counters_) collect_protocol_counters(now);
    }

    void collect_interfaces(std::int64_t now) {
        auto text = dev_file_.read(ctx_);
        if (!text) return;
        auto error = parse_net_dev(*text, interface_stats_);
        dev_file_.parsed(ctx_, error);
        if (error) return;
        const sonde_value rx = str("receive"), tx = str("transmit");
        for (const InterfaceStats &i : interface_stats_) {
            if (!interface_filter_.admits(i.device)) continue;
            const sonde_value dev = str(i.device);
            network_io_.add(uint_value(i.rx_bytes), {dev, rx}, now);
            network_io_.add(uint_value(i.tx_bytes), {dev, tx}, now);
            network_packets_.add(uint_value(i.rx_packets), {dev, rx}, now);
            network_packets_.add(uint_value(i.tx_packets), {dev, tx}, now);
            network_errors_.add(uint_value(i.rx_errors), {dev, rx}, now);
            network_errors_.add(uint_value(i.tx_errors), {dev, tx}, now);
            network_dropped_.add(uint_value(i.rx_dropped), {dev, rx}, now);
            network_dropped_.add(uint_value(i.tx_dropped), {dev, tx}, now);
        }
        for (MetricBuffer *m : {&network_io_, &network_packets_, &network_errors_, &network_dropped_}) m->emit(ctx_);
    }

    // Fills counts for one family from netlink, or from the proc file.
    bool tcp_counts(int family, SourceFile &file, TcpStateCounts &counts) {
        counts.fill(0);
        if (diag_) {
            if (diag_->count(family, counts)) return true;
            ctx_.warn(diag_->error() + "; falling back to /proc/net/tcp{,6}");
            diag_.reset();
            counts.fill(0);
        }
        auto text = file.read(ctx_);
        if (!text) return false;
        auto error = parse_proc_net_tcp(*text, counts);
        file.parsed(ctx_, error);
        return !error;
    }

    void collect_tcp_states(std::int64_t now) {
        const sonde_value tcp = str("tcp");
        for (auto [family, name, file] : {std::tuple{AF_INET, "ipv4", &tcp_file_}, std::tuple{AF_INET6, "ipv6", &tcp6_file_}}) {
            TcpStateCounts counts{};
            if (!tcp_counts(family, *file, counts)) continue;
            for (std::size_t s = 1; s < counts.size(); ++s)
                connections_.add(uint_value(counts[s]), {tcp, str(name), str(tcp_state_names[s])}, now);
        }
        connections_.emit(ctx_);
    }

    void collect_protocol_counters(std::int64_t now) {
        counters_.counters.clear();
        for (SourceFile *file : {&snmp_file_, &netstat_file_}) {
            auto text = file->read(ctx_);
            if (!text) continue;
            // Views into the file buffer stay valid: each file has its own buffer.
            file->parsed(ctx_, parse_snmp(*text, counters_, {"Tcp", "Udp", "TcpExt"}));
        }
        auto emit = [&](MetricBuffer &m, std::string_view section, std::string_view name,
                        std::initializer_list<sonde_value> attributes) {
            if (auto v = counters_.find(section, name); v && *v >= 0)
                m.add(uint_value(static_cast<std::uint64_t>(*v)), attributes, now);
        };
        emit(tcp_segments_, "Tcp", "InSegs", {str("receive")});
        emit(tcp_segments_, "Tcp", "OutSegs", {str("transmit")});
        emit(tcp_retransmits_, "Tcp", "RetransSegs", {});
        emit(tcp_opens_, "Tcp", "ActiveOpens", {str("active")});
        emit(tcp_opens_, "Tcp", "PassiveOpens", {str("passive")});
        emit(tcp_in_errors_, "Tcp", "InErrs", {});
        emit(tcp_resets_sent_, "Tcp", "OutRsts", {});
        emit(tcp_listen_drops_, "TcpExt", "ListenDrops", {});
        emit(tcp_listen_overflows_, "TcpExt", "ListenOverflows", {});
        emit(udp_datagrams_, "Udp", "InDatagrams", {str("receive")});
        emit(udp_datagrams_, "Udp", "OutDatagrams", {str("transmit")});
        emit(udp_errors_, "Udp", "InErrors", {str("receive")});
        emit(udp_errors_, "Udp", "NoPorts", {str("no_port")});
        emit(udp_errors_, "Udp", "RcvbufErrors", {str("receive_buffer")});
        emit(udp_errors_, "Udp", "SndbufErrors", {str("send_buffer")});
        for (MetricBuffer *m : {&tcp_segments_, &tcp_retransmits_, &tcp_opens_, &tcp_in_errors_, &tcp_resets_sent_,
                                &tcp_listen_drops_, &tcp_listen_overflows_, &udp_datagrams_, &udp_errors_})
            m->emit(ctx_);
    }

    std::string root_;
    bool interfaces_, tcp_states_, protocol_counters_;
    NameFilter interface_filter_;
    TcpStateSource tcp_source_;
    std::unique_ptr<TcpDiag> diag_;

    SourceFile dev_file_, snmp_file_, netstat_file_, tcp_file_, tcp6_file_;
    std::vector<InterfaceStats> interface_stats_;
    ProtocolCounters counters_;

    MetricBuffer network_io_, network_packets_, network_errors_, network_dropped_, connections_;
    MetricBuffer tcp_segments_, tcp_retransmits_, tcp_opens_, tcp_in_errors_, tcp_resets_sent_, tcp_listen_drops_,
        tcp_listen_overflows_, udp_datagrams_, udp_errors_;
};

}  // namespace
}  // namespace sonde::net

SONDE_INPUT_PLUGIN(sonde::net::Net, "net", "0.1.0", "Interface traffic, TCP connection states, TCP and UDP counters")
