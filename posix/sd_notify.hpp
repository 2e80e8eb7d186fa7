// systemd's notify protocol (sd_notify(3)) without libsystemd: one datagram per state change to
// the socket systemd names in $NOTIFY_SOCKET, and the watchdog interval it asks for.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace nv::systemd {

// Sends `state` ("READY=1", "STOPPING=1", "WATCHDOG=1", "STATUS=restoring 3 deployments", or
// several such lines joined by '\n') as one datagram to $NOTIFY_SOCKET: a path, or an abstract
// address written "@name". Without $NOTIFY_SOCKET (not started by systemd) it does nothing. The
// socket is non-blocking, so a manager that does not read never holds up the caller.
// Returns what went wrong, for the log ("NOTIFY_SOCKET=/run/x: Connection refused"); empty when
// the datagram was sent or there is nobody to send it to.
std::string notify(std::string_view state);

// The interval systemd's watchdog expects WATCHDOG=1 within ($WATCHDOG_USEC), when it is on and
// meant for this process ($WATCHDOG_PID unset, or this process's pid). Ping at half of it, as
// sd_watchdog_enabled(3) advises, so one late ping is not a missed one.
std::optional<std::chrono::microseconds> watchdog_interval();

} // namespace nv::systemd
