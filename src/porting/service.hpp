#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "carriers/gateway.hpp"
#include "core/clock.hpp"
#include "core/error.hpp"
#include "core/secret_box.hpp"
#include "mail/mail.hpp"
#include "numbering/check.hpp"
#include "porting/mail_text.hpp"
#include "store/database.hpp"

namespace portline::porting {

using Json = boost::json::value;
using Object = boost::json::object;

struct PortingOptions {
  std::size_t max_numbers = 20000;  // per request (Bandwidth bulk: 20,000; Twilio: 1,000)
  int min_port_days = 7;
  int max_port_days = 30;
  std::string public_url = "http://127.0.0.1:8080";  // base of signature URLs
  std::string node_id = "node";                      // lease owner name for workflow steps
  std::chrono::milliseconds lease{60000};            // a claimed step is retried after this
  int workflow_threads = 2;  // shards of a big batch of steps run side by side
  /// A carrier gateway serves live organizations (porting.gateway). Without one, a live
  /// organization's request is refused (PORTING_GATEWAY_NOT_CONFIGURED) rather than sent to the
  /// simulated network; sandbox organizations always use the simulator.
  bool live_gateway = false;
};

/// Attempts of a workflow step before it is dead (about nine hours of retries at 1 s … 1 h).
inline constexpr std::int64_t kMaxStepAttempts = 20;

/// Notes a port request may have.
inline constexpr std::int64_t kMaxNotesPerRequest = 500;

/// Who acts: an API key ("key:key_…"), the CLI ("cli"), a signer ("signer:<email>"), the system.
struct Actor {
  std::string org_id;
  std::string who;
};

struct ListFilter {
  std::vector<std::string> statuses;
  std::optional<std::string> phone_number;
  std::optional<std::string> customer_reference;
  std::optional<std::int64_t> created_after, created_before;  // Unix ms
  std::optional<std::string> foc_from, foc_to;                // YYYY-MM-DD
  std::optional<std::string> after;                           // cursor: last id of the page
  int limit = 20;
};

/// What the signature page shows.
/// A port event as written (port_events), handed to the event sink.
struct EventRecord {
  std::string org_id, id, type, request_id, actor;
  std::int64_t sequence = 0;
  Object data;
  std::int64_t at = 0;  // occurred at, Unix ms on the organization's clock
};

struct SignatureView {
  std::string request_id;
  std::string org_id;
  std::string status;
  std::string customer;  // business or person name
  std::string customer_type;
  std::string representative_name;
  std::string billing_number;
  std::string account_number_masked;  // "ending in 2345", "on file", or "" when none
  std::string signature_json;         // the stored audit trail once signed
  std::string representative_email;
  std::string address;
  std::string target_date;
  std::vector<std::pair<std::string, std::string>> numbers;  // number, losing carrier
  std::optional<std::int64_t> signed_at;
  std::string signer_name;
  std::optional<std::int64_t> link_issued_at;
  std::string signed_loa;  // base64 of the signed LOA's bytes, kept at signing
};

struct SignatureInput {
  std::string name;
  std::string title;
  bool consent = false;
  std::string drawn;  // optional drawn signature: a PNG data URL from the page
  std::string ip;
  std::string user_agent;
};

/// Called after numbers are ported, with the request's `post_port` SIP configuration (the body of
/// POST /v1/sip/attach without phone_numbers), to make them the organization's inbound numbers.
using PostPortHook = std::function<Result<void>(
    std::string_view org, const std::vector<std::string>& numbers, const Object& post_port)>;

/// Port-in requests from creation to completion (the /v1/sip/port surface) and the durable
/// workflow that carries them. Every state change is one transaction with its event and its next
/// steps (port_jobs); steps are claimed with leases so several nodes never apply one twice, and a
/// crash at any instant leaves a step that is simply run again (carrier calls are idempotent per
/// order and version). Time is the organization's clock: the wall clock, plus the offset a
/// sandbox organization advanced. Thread-safe; blocks on storage.
class PortingService {
 public:
  /// Checks a request's `post_port` when it is created, so a bad one fails then, not after the
  /// port completes. Errors are reported under `post_port.`.
  using PostPortValidator =
      std::function<Result<void>(std::string_view org, const Object& post_port)>;
  /// Checks that every id of a request's `documents` is a document of the organization.
  using DocumentValidator =
      std::function<Result<void>(std::string_view org, const std::vector<std::string>& ids)>;
  /// Receives the events a transaction wrote, inside that transaction, with their stable ids
  /// and per-request sequences (webhooks record them).
  using EventSink =
      std::function<Result<void>(store::Connection& c, const std::vector<EventRecord>& events)>;
  /// What porting needs from the rest of the system. Every one is required (a service without
  /// its event sink would change requests that no webhook ever hears of).
  struct Hooks {
    EventSink event_sink;
    PostPortHook post_port;
    PostPortValidator validate_post_port;
    DocumentValidator validate_documents;
  };

  PortingService(store::Database& db, const Clock& clock, const SecretBox& box,
                 const numbering::PortabilityChecker& checker,
                 const numbering::CarrierRegistry& carriers, carriers::Gateway& gateway,
                 Hooks hooks, PortingOptions options);

  void SetPublicUrl(std::string url);

  [[nodiscard]] Result<Json> Create(const Actor& actor, const Object& body);
  [[nodiscard]] Result<Json> Get(std::string_view org, std::string_view id);
  [[nodiscard]] Result<Json> List(std::string_view org, const ListFilter& filter);
  [[nodiscard]] Result<Json> Replace(const Actor& actor, std::string_view id, const Object& body);
  [[nodiscard]] Result<Json> Cancel(const Actor& actor, std::string_view id);
  [[nodiscard]] Result<Json> GetNumber(std::string_view org, std::string_view id,
                                       std::string_view number);
  [[nodiscard]] Result<Json> CancelNumber(const Actor& actor, std::string_view id,
                                          std::string_view number);
  [[nodiscard]] Result<Json> Events(std::string_view org, std::string_view id,
                                    std::int64_t after_sequence, int limit);
  [[nodiscard]] Result<Json> AddNote(const Actor& actor, std::string_view id, const Object& body);
  /// A page of notes, oldest first, after the note id `after`.
  [[nodiscard]] Result<Json> Notes(std::string_view org, std::string_view id,
                                   const std::optional<std::string>& after = std::nullopt,
                                   int limit = 100);
  [[nodiscard]] Result<Json> GetConfiguration(std::string_view org);
  [[nodiscard]] Result<Json> PutConfiguration(std::string_view org, const Object& body);
  [[nodiscard]] Result<Json> Activations(std::string_view org, std::string_view id);
  [[nodiscard]] Result<Json> Activate(const Actor& actor, std::string_view id, const Object& body);

  /// The signature step: the page behind signature_url, and signing it. Signing records the
  /// audit trail (name, title, email, IP, user agent, time, SHA-256 of the LOA shown).
  [[nodiscard]] Result<SignatureView> SignaturePage(std::string_view token);
  [[nodiscard]] Result<SignatureView> Sign(std::string_view token, const SignatureInput& input);
  /// The LOA PDF: signed (with its certificate of completion) once signed, else to be signed.
  [[nodiscard]] Result<std::string> Loa(std::string_view org, std::string_view id);
  /// The LOA of a signature page's request: as kept at signing once signed, else to be signed.
  [[nodiscard]] Result<std::string> RenderLoa(const SignatureView& v);
  /// Issues a new signature link (the old one stops working) and restarts the expiry clock.
  [[nodiscard]] Result<Json> ResendSignature(const Actor& actor, std::string_view id);

  /// The organization's clock now (a sandbox's runs ahead of the wall clock).
  [[nodiscard]] Result<std::chrono::system_clock::time_point> OrgNow(std::string_view org);
  /// Whether the organization is a sandbox (kNotFound when it does not exist).
  [[nodiscard]] Result<bool> IsSandbox(std::string_view org);
  /// Sandbox clock of an organization (kNotFound for live organizations).
  [[nodiscard]] Result<Json> SandboxClock(std::string_view org);
  /// Moves the sandbox clock forward, running every step that falls due on the way, in order.
  [[nodiscard]] Result<Json> AdvanceClock(std::string_view org, const Object& body);

  /// Runs up to `max` due workflow steps (of one organization, or of all); returns how many ran.
  [[nodiscard]] Result<int> RunDue(const std::optional<std::string>& org, int max);

  /// Numbers among `numbers` (E.164) in the organization's active port requests.
  [[nodiscard]] Result<std::set<std::string>> NumbersInActiveRequests(
      std::string_view org, const std::vector<std::string>& numbers);
  /// Numbers among `numbers` held on the platform in the organization's realm, and by whom.
  [[nodiscard]] Result<std::map<std::string, numbering::HeldBy>> NumbersHeld(
      std::string_view org, const std::vector<std::string>& numbers);

  [[nodiscard]] const PortingOptions& options() const { return options_; }

  // Implementation types, defined in the .cpp files.
  struct Submission;
  struct OrgTime;
  struct Job;
  struct Batch;

 private:
  Result<OrgTime> LoadOrgTime(store::Connection& c, std::string_view org);
  /// A live organization's submitted request needs a configured carrier gateway.
  Result<void> RequireGateway(const OrgTime& t, const Submission& sub) const;
  Result<std::map<std::string, numbering::HeldBy>> Held(store::Connection& c, std::string_view org,
                                                        const std::vector<std::string>& numbers);
  Result<Submission> ParseSubmission(store::Connection& c, const OrgTime& t, std::string_view org,
                                     const Object& body, std::string_view self_id,
                                     const std::vector<FieldError>& post_port_errors);
  /// Runs the post-port validator (before a connection is taken: it may take its own).
  Result<std::vector<FieldError>> CheckPostPort(std::string_view org, const Object& body);
  Result<Json> View(store::Connection& c, std::string_view org, std::string_view id);
  /// A new signature token (sealed into the details) and its expiry; none for a draft.
  std::pair<std::string, std::optional<std::int64_t>> IssueSignature(Submission& sub,
                                                                     const Object& config,
                                                                     std::int64_t now);
  /// Child orders (one per losing carrier) and the numbers of a submission; kUnprocessable when
  /// no number is portable. Returns how many orders.
  Result<std::size_t> WriteOrdersAndNumbers(store::Connection& c, std::string_view id,
                                            std::string_view org, const Submission& sub,
                                            std::int64_t now);
  Result<void> Event(store::Connection& c, std::string_view request_id, std::string_view org,
                     std::string_view type, std::string_view actor, Object data, std::int64_t at);
  Result<void> AddJob(store::Connection& c, std::string_view org, std::string_view request_id,
                      std::string_view order_id, std::string_view kind, std::int64_t due_at,
                      const Object& payload);
  Result<std::string> Rollup(store::Connection& c, std::string_view request_id,
                             std::string_view actor, std::int64_t now);
  Result<void> LockRequest(store::Connection& c, std::string_view id);
  Result<void> Notify(store::Connection& c, std::string_view request_id, std::string_view org,
                      std::string_view type, const Object& data, std::int64_t at);
  Result<SignatureView> LoadSignatureView(store::Connection& c, const store::Row& r);
  /// A new signature token, sealed into `details` with its issue time; the token and expiry.
  std::pair<std::string, std::int64_t> NewSignatureLink(Object& details, const Object& config,
                                                        std::int64_t now);
  /// Everything the request's LOA prints, as one comparable text.
  Result<std::string> LoaFingerprint(store::Connection& c, std::string_view id);
  /// A signed request whose LOA changed: back to waiting_for_signature with a new link.
  Result<void> VoidSignature(store::Connection& c, const Actor& actor, std::string_view id,
                             const Object& config, std::int64_t now);
  /// A prepared workflow step: writes its effects in the caller's transaction.
  // The workflow's unit of work (batch.cpp, workflow.cpp): steps change a Batch in memory and
  // Flush writes every change of the batch in a few set-based statements.
  using StepApply = std::function<Result<void>(Batch&)>;
  Result<StepApply> PrepareStep(const Job& job, std::map<std::string, OrgTime>& org_times,
                                const Batch& snapshot);
  void RunSteps(const std::vector<const Job*>& jobs, const Batch& snapshot,
                std::vector<std::pair<const Job*, Error>>& failed);
  Result<void> ApplySteps(store::Connection& c,
                          const std::vector<std::pair<const Job*, StepApply>>& steps);
  Result<void> ApplyDecision(Batch& b, const Job& job, std::int64_t now);
  Result<void> ActivateOrder(Batch& b, std::string_view request_id, std::string_view order_id,
                             std::string_view actor, std::int64_t now);
  Result<std::string> Rollup(Batch& b, std::string_view request_id, std::string_view actor,
                             std::int64_t now);
  Result<void> Event(Batch& b, std::string_view request_id, std::string_view type,
                     std::string_view actor, Object data, std::int64_t at);
  void AddJob(Batch& b, std::string_view org, std::string_view request_id,
              std::string_view order_id, std::string_view kind, std::int64_t due_at,
              const Object& payload);
  Result<void> FlushBatch(store::Connection& c, Batch& b);
  /// Loads (and locks) one request into a batch, runs `fn` on it and writes its changes.
  Result<void> WithRequestBatch(store::Connection& c, std::string_view request_id,
                                const std::function<Result<void>(Batch&)>& fn);
  /// The e-mail of an event, or nullopt (not mailed, or nobody to send it to); `facts` carries
  /// what the request's rows say, the details the rest.
  Result<std::optional<mail::Outgoing>> ComposeMail(std::string_view org, const Object& details,
                                                    MailFacts facts, const Object& data);
  Result<carriers::CarrierOrder> BuildCarrierOrder(const Batch& snapshot, std::string_view org,
                                                   std::string_view request_id,
                                                   std::string_view order_id);
  Result<Object> LoadConfiguration(store::Connection& c, std::string_view org);
  std::string SignatureUrl(std::string_view token) const;

  store::Database& db_;
  const Clock& clock_;
  const SecretBox& box_;
  const numbering::PortabilityChecker& checker_;
  const numbering::CarrierRegistry& carriers_;
  carriers::Gateway& gateway_;
  PortingOptions options_;
  PostPortHook post_port_;
  PostPortValidator validate_post_port_;
  DocumentValidator validate_documents_;
  EventSink event_sink_;
  mutable std::mutex url_mutex_;
};

/// Request statuses (shared/reference/porting.md §9, Bland's five plus the lifecycle's others).
inline constexpr std::string_view kDraft = "draft";
inline constexpr std::string_view kWaitingForSignature = "waiting_for_signature";
inline constexpr std::string_view kSubmitted = "submitted";
inline constexpr std::string_view kInProgress = "in_progress";
inline constexpr std::string_view kCompleted = "completed";
inline constexpr std::string_view kActionRequired = "action_required";
inline constexpr std::string_view kCancelPending = "cancel_pending";
inline constexpr std::string_view kCanceled = "canceled";
inline constexpr std::string_view kFailed = "failed";
inline constexpr std::string_view kExpired = "expired";

/// Counts of a request's numbers by state, for the roll-up.
struct NumberCounts {
  std::int64_t pending = 0, submitted = 0, foc = 0, ready = 0, ported = 0;
  std::int64_t rejected_fixable = 0, rejected_final = 0, canceled = 0, excluded = 0;
};
/// The request status its numbers imply, given its current status (pure).
[[nodiscard]] std::string_view RollupStatus(std::string_view current, const NumberCounts& n);

}  // namespace portline::porting
