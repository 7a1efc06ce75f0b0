#include "control/service_notifier.hpp"

#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace sonde::core {

namespace {

// One line: a newline inside STATUS= would start another assignment.
std::string status_line(std::string status) {
    for (char &c : status)
        if (c == '\n') c = ' ';
    return "STATUS=" + status;
}

std::uint64_t monotonic_usec() {
    timespec now{};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return static_cast<std::uint64_t>(now.tv_sec) * 1000000u + static_cast<std::uint64_t>(now.tv_nsec) / 1000u;
}

}  // namespace

ServiceNotifier::ServiceNotifier(boost::asio::io_context &io, std::shared_ptr<spdlog::logger> logger)
    : logger_(std::move(logger)), strand_(boost::asio::make_strand(io)), watchdog_timer_(strand_) {
    const char *socket = std::getenv("NOTIFY_SOCKET");
    active_ = socket && *socket;
    if (!active_) return;
    std::uint64_t usec = 0;
    int enabled = sd_watchdog_enabled(0, &usec);
    if (enabled < 0)
        logger_->warn("systemd watchdog: WATCHDOG_USEC or WATCHDOG_PID is malformed ({}); not fed",
                      std::strerror(-enabled));
    else if (enabled > 0)
        watchdog_timeout_ = std::chrono::microseconds(usec);
}

void ServiceNotifier::send(const std::string &state) {
    if (!active_) return;
    int r = sd_notify(0, state.c_str());
    if (r < 0) logger_->warn("sd_notify({}): {}", state.substr(0, state.find('\n')), std::strerror(-r));
}

void ServiceNotifier::ready(const std::string &status) { send("READY=1\n" + status_line(status)); }

// MONOTONIC_USEC is what systemd 253's Type=notify-reload requires beside
// RELOADING=1; older managers ignore it.
void ServiceNotifier::reloading(const std::string &status) {
    send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(monotonic_usec()) + "\n" + status_line(status));
}

void ServiceNotifier::stopping(const std::string &status) {
    send("STOPPING=1\n" + status_line(status));
    boost::asio::post(strand_, [this] {
        stopped_ = true;
        watchdog_timer_.cancel();
    });
}

void ServiceNotifier::feed_watchdog() {
    if (!active_ || watchdog_timeout_.count() == 0) return;
    logger_->info("systemd watchdog: {} ms, fed every {} ms from the io loop", watchdog_timeout_.count() / 1000,
                  watchdog_timeout_.count() / 2000);
    send("WATCHDOG=1");
    arm_watchdog();
}

// Half the period, as sd_watchdog_enabled(3) advises: one late turn of the
// loop is not yet a missed deadline.
void ServiceNotifier::arm_watchdog() {
    watchdog_timer_.expires_after(watchdog_timeout_ / 2);
    watchdog_timer_.async_wait([this](const boost::system::error_code &ec) {
        if (ec || stopped_) return;
        send("WATCHDOG=1");
        arm_watchdog();
    });
}

}  // namespace sonde::core
