#pragma once

#include <memory>

#include "config/config.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/net_guard.hpp"
#include "numbering/check.hpp"
#include "porting/service.hpp"
#include "sip/endpoint.hpp"
#include "store/database.hpp"

namespace portline::app {

/// Opens storage as configured (SQLite under data_dir, or PostgreSQL) and applies migrations.
[[nodiscard]] Result<std::unique_ptr<store::Database>> OpenStorage(const config::Config& cfg,
                                                                   int pool_size);

/// Portability-check options from the configuration (porting.*; coverage is "CA,NY,ON").
[[nodiscard]] numbering::CheckOptions CheckOptionsFrom(const config::Config& cfg);

/// Port-request options from the configuration; `node_id` is unique per process (leases name it).
[[nodiscard]] porting::PortingOptions PortingOptionsFrom(const config::Config& cfg,
                                                         const Clock& clock);

/// The SSRF guard of outbound connections to customer hosts (security.outbound_allow).
[[nodiscard]] net::OutboundGuard OutboundGuardFrom(const config::Config& cfg);

/// SIP endpoint options from the configuration (sip.*). With `listeners` (serve) it binds the
/// listeners and guards outbound connections (security.outbound_allow); without (the CLI's
/// client-only endpoint, run by an operator) neither.
[[nodiscard]] sip::EndpointOptions SipOptionsFrom(const config::Config& cfg, bool listeners);

/// `portline serve`: runs the API until SIGTERM/SIGINT, then drains and returns 0.
/// Prints "portline listening on http://HOST:PORT" on stdout once bound.
[[nodiscard]] int Serve(const config::Config& cfg);

}  // namespace portline::app
