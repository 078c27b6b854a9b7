#pragma once

#include <memory>

#include "config/config.hpp"
#include "sip/endpoint.hpp"

namespace portline::app {

/// SIP endpoint options from the configuration (sip.*). With `listeners` (serve) it binds the
/// listeners and guards outbound connections (security.outbound_allow); without (the CLI's
/// client-only endpoint, run by an operator) neither.
[[nodiscard]] sip::EndpointOptions SipOptionsFrom(const config::Config& cfg, bool listeners);

/// `portline serve`: runs the API until SIGTERM/SIGINT, then drains and returns 0.
/// Prints "portline listening on http://HOST:PORT" on stdout once bound.
[[nodiscard]] int Serve(const config::Config& cfg);

}  // namespace portline::app
