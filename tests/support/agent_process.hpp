// Helpers for tests that run the real sonde binary: a child process with
// its stdout and stderr captured, a temporary conf.d, JSON-lines parsing.
#pragma once

#include "temp_dir.hpp"

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace sonde_test {

namespace fs = std::filesystem;

struct Process {
    pid_t pid = -1;
    int out = -1, err = -1;
    std::string stdout_text, stderr_text;
    int exit_status = -1;

    Process(const Process &) = delete;
    Process &operator=(const Process &) = delete;
    Process(Process &&o) noexcept
        : pid(std::exchange(o.pid, -1)), out(std::exchange(o.out, -1)), err(std::exchange(o.err, -1)),
          stdout_text(std::move(o.stdout_text)), stderr_text(std::move(o.stderr_text)), exit_status(o.exit_status) {}
    // A test that stops early (a failed REQUIRE) must not leave an agent behind.
    ~Process() {
        if (pid > 0 && exit_status == -1) {
            kill(pid, SIGKILL);
            waitpid(pid, nullptr, 0);
        }
        if (out >= 0) close(out);
        if (err >= 0) close(err);
    }

    // `in_child` runs in the child between fork and exec: to set what only
    // the child may have (its own pid in an environment variable).
    explicit Process(std::vector<std::string> args, const std::function<void()> &in_child = {}) {
        int o[2], e[2];
        REQUIRE(pipe(o) == 0);
        REQUIRE(pipe(e) == 0);
        pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            dup2(o[1], 1);
            dup2(e[1], 2);
            close(o[0]);
            close(e[0]);
            if (in_child) in_child();
            std::vector<char *> argv;
            for (auto &a : args) argv.push_back(a.data());
            argv.push_back(nullptr);
            execv(argv[0], argv.data());
            _exit(127);
        }
        close(o[1]);
        close(e[1]);
        out = o[0];
        err = e[0];
    }

    // Reads both pipes until `done(stdout_text)` or the timeout.
    template <typename Done>
    void read_until(Done done, std::chrono::milliseconds timeout) {
        auto deadline = std::chrono::steady_clock::now() + timeout;
        while (!done(stdout_text) && std::chrono::steady_clock::now() < deadline) {
            pollfd fds[2] = {{out, POLLIN, 0}, {err, POLLIN, 0}};
            if (poll(fds, 2, 50) <= 0) continue;
            bool out_open = pump(fds[0], out, stdout_text);
            bool err_open = pump(fds[1], err, stderr_text);
            if (!out_open && !err_open) break;
        }
    }
    static bool pump(const pollfd &p, int fd, std::string &into) {
        if (!(p.revents & (POLLIN | POLLHUP))) return true;
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) into.append(buf, static_cast<std::size_t>(n));
        return n > 0;
    }
    int wait() {
        read_until([](const std::string &) { return false; }, std::chrono::milliseconds(0));
        int status = 0;
        // Drain the rest, then reap.
        for (auto *p : {&out, &err}) {
            char buf[65536];
            ssize_t n;
            while ((n = read(*p, buf, sizeof buf)) > 0) (p == &out ? stdout_text : stderr_text).append(buf, n);
        }
        waitpid(pid, &status, 0);
        close(out);
        close(err);
        out = err = -1;
        exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        // In the sanitized build (scripts/test-sanitized.sh) ASan writes its
        // reports to files the script checks, but g++'s UBSan runtime ignores
        // log_path next to ASan and prints to stderr: a report there fails
        // the test even when the test expects the agent to fail.
        CHECK_MESSAGE(sanitizer_report(stderr_text).empty(), "sanitizer report from the agent:\n",
                      sanitizer_report(stderr_text));
        return exit_status;
    }
    // The lines from the first sanitizer report in `text` on, or "".
    static std::string sanitizer_report(const std::string &text) {
        for (const char *marker : {": runtime error: ", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer"}) {
            std::size_t at = text.find(marker);
            if (at == std::string::npos) continue;
            std::size_t line = text.rfind('\n', at);
            return text.substr(line == std::string::npos ? 0 : line + 1);
        }
        return "";
    }
};


inline std::vector<std::string> sonde(std::vector<std::string> args) {
    args.insert(args.begin(), SONDE_BINARY);
    return args;
}

inline std::vector<nlohmann::json> json_lines(const std::string &text) {
    std::vector<nlohmann::json> out;
    std::size_t start = 0, end;
    while ((end = text.find('\n', start)) != std::string::npos) {
        out.push_back(nlohmann::json::parse(text.substr(start, end - start)));
        start = end + 1;
    }
    return out;
}

}  // namespace sonde_test
