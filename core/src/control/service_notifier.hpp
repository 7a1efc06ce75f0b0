// What the service manager is told about the agent, through sd_notify(3)
// (libsystemd): systemd's Type=notify protocol.
//
//   READY=1       start-up has finished: every configured instance started
//                 or failed for a reported reason
//   RELOADING=1   a reload began (sonde reload, SIGHUP, /v1/reload);
//                 READY=1 follows once it was applied or refused
//   STOPPING=1    the orderly shutdown began
//   WATCHDOG=1    from the io loop, every half of $WATCHDOG_USEC, so a loop
//                 that stops turning stops feeding systemd's watchdog
//   STATUS=...    one line for `systemctl status` with each of them
//
// Without $NOTIFY_SOCKET (not started by systemd, or by a unit of another
// Type) every call does nothing. The watchdog runs only when
// sd_watchdog_enabled() says it is asked for this process ($WATCHDOG_USEC,
// and $WATCHDOG_PID if set naming this pid).
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace spdlog {
class logger;
}

namespace sonde::core {

class ServiceNotifier {
public:
    ServiceNotifier(boost::asio::io_context &io, std::shared_ptr<spdlog::logger> logger);
    ServiceNotifier(const ServiceNotifier &) = delete;
    ServiceNotifier &operator=(const ServiceNotifier &) = delete;

    // Whether a service manager listens ($NOTIFY_SOCKET is set).
    bool active() const { return active_; }
    // The watchdog period systemd asked for; zero when it asked for none.
    std::chrono::microseconds watchdog_timeout() const { return watchdog_timeout_; }

    // Feeds the watchdog from the io loop from now until stopping(). Call
    // once, before the io loop runs; nothing happens without a watchdog.
    void feed_watchdog();

    // Any thread. `status` becomes the unit's STATUS= line.
    void ready(const std::string &status);
    void reloading(const std::string &status);
    // Also stops feeding the watchdog: systemd watches it only while the
    // unit is running or reloading, and a pending timer would keep the io
    // loop from ending.
    void stopping(const std::string &status);

private:
    void send(const std::string &state);
    void arm_watchdog();

    std::shared_ptr<spdlog::logger> logger_;
    bool active_ = false;
    std::chrono::microseconds watchdog_timeout_{0};
    // The timer's handlers and its cancel run on one strand, whichever io thread runs them.
    boost::asio::strand<boost::asio::io_context::executor_type> strand_;
    boost::asio::steady_timer watchdog_timer_;
    bool stopped_ = false;  // on the strand
};

}  // namespace sonde::core
