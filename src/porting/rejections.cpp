#include "porting/rejections.hpp"

#include <algorithm>

namespace portline::porting {

const std::vector<RejectionInfo>& RejectionTable() {
  using F = std::vector<std::string_view>;
  static const F kAccount = {"losing_carrier_information.account_number"};
  static const F kPin = {"pin"};
  static const F kBusiness = {"losing_carrier_information.business_name"};
  static const F kPerson = {"losing_carrier_information.first_name",
                            "losing_carrier_information.last_name"};
  static const F kAddress = {"losing_carrier_information.address.street",
                             "losing_carrier_information.address.city"};
  static const F kZip = {"losing_carrier_information.address.zip"};
  static const F kBtn = {"new_billing_number"};
  static const F kNumbers = {"phone_numbers"};
  static const F kDate = {"target_port_date"};
  static const F kNone = {};
  constexpr std::string_view kAccountHint =
      "The account number does not match the losing carrier's records. Copy it exactly from a "
      "recent bill (wireless carriers show it in the online account), then resubmit.";
  constexpr std::string_view kPinHint =
      "The port-out PIN (passcode) is wrong or missing. Ask the losing carrier for a transfer PIN "
      "(wireless carriers issue one in their app or by phone), then resubmit.";
  constexpr std::string_view kNameHint =
      "The name on the request does not match the account. Use the name exactly as it appears on "
      "the bill of the losing carrier.";
  constexpr std::string_view kAddressHint =
      "The service address does not match the carrier's records (the most common rejection). Use "
      "the service address from the bill, not the billing or mailing address.";
  constexpr std::string_view kSpecialHint =
      "The line has a feature the carrier must remove before it can port (hunt group, Centrex, "
      "ISDN, DSL, distinctive ring, remote call forwarding...). Ask the carrier to remove it.";
  static const std::vector<RejectionInfo> kTable = {
      {"E17A", "account_number_mismatch", kAccount, kAccountHint, true},
      {"E17B", "account_number_mismatch", kAccount, kAccountHint, true},
      {"8A", "account_number_mismatch", kAccount, kAccountHint, true},
      {"E42PWA", "pin_invalid", kPin, kPinHint, true},
      {"E42PWB", "pin_invalid", kPin, kPinHint, true},
      {"8C", "pin_invalid", kPin, kPinHint, true},
      {"8G", "business_name_mismatch", kBusiness, kNameHint, true},
      {"8E", "end_user_name_mismatch", kPerson, kNameHint, true},
      {"8F", "end_user_name_mismatch", kPerson,
       "A residential account needs the account holder's last name.", true},
      {"E10", "end_user_name_mismatch", kPerson, kNameHint, true},
      {"E10a", "authorizer_mismatch", kPerson,
       "The person who authorized the port is not an authorized user of the account.", true},
      {"E1", "address_mismatch", kAddress, kAddressHint, true},
      {"8D", "zip_mismatch", kZip,
       "The ZIP code of the service address does not match. Use the ZIP of the service address "
       "on the bill.",
       true},
      {"E14", "btn_mismatch", kBtn,
       "The billing telephone number (BTN) does not match the account.", true},
      {"E6h", "btn_remaining_lines", kBtn,
       "You are porting the account's billing number while other lines stay with the carrier. "
       "Give a new_billing_number from the lines that remain, or port every line.",
       true},
      {"E24", "port_type_incorrect", kNumbers,
       "The full/partial port indicator is wrong: list every number of the account for a full "
       "port, or keep a billing number behind for a partial port.",
       true},
      {"E27", "number_inactive", kNumbers,
       "The number is disconnected or inactive at the losing carrier and cannot be ported. "
       "Remove it from the request.",
       false},
      {"E30", "number_inactive", kNumbers,
       "The number is disconnected or inactive at the losing carrier and cannot be ported. "
       "Remove it from the request.",
       false},
      {"6D", "number_inactive", kNumbers,
       "The number is not active at the losing carrier. Remove it from the request.", false},
      {"6A", "number_not_on_account", kNumbers,
       "The carrier has no such number on this account. Check the number and the account, or "
       "remove it.",
       true},
      {"6R", "special_feature", kNone, kSpecialHint, true},
      {"E6c", "special_feature", kNone, kSpecialHint, true},
      {"E6a", "special_feature", kNone, kSpecialHint, true},
      {"E25", "special_feature", kNone, kSpecialHint, true},
      {"E6e", "special_feature", kNone, kSpecialHint, true},
      {"E6b", "special_feature", kNone, kSpecialHint, true},
      {"E6f", "special_feature", kNone, kSpecialHint, true},
      {"E6g", "special_feature", kNone, kSpecialHint, true},
      {"E6d", "port_freeze", kNone,
       "The account has a port freeze (number lock). The account holder must remove it with the "
       "losing carrier; then resubmit without changes.",
       true},
      {"6P", "port_freeze", kNone,
       "The carrier's port protection blocks this port. The account holder must lift it with "
       "the carrier; then resubmit.",
       true},
      {"6K", "not_portable", kNumbers, "The carrier says the number cannot be ported.", false},
      {"E42O", "not_portable", kNumbers, "The carrier says the number cannot be ported.", false},
      {"7B", "not_portable", kNumbers, "The carrier says the number cannot be ported.", false},
      {"6M", "conflicting_order", kNone,
       "Another port of this number is already pending. Wait for it to finish or be canceled "
       "(ask the account holder), then resubmit.",
       true},
      {"6N", "conflicting_order", kNone,
       "Another port of this number is already pending. Wait for it to finish or be canceled, "
       "then resubmit.",
       true},
      {"E19", "conflicting_order", kNone,
       "Another order is already open on this account. Wait for it, then resubmit.", true},
      {"1M", "due_date_too_soon", kDate,
       "The requested date is earlier than the carrier's interval. Choose a later "
       "target_port_date.",
       true},
      {"1N", "due_date_rejected", kDate, "The carrier cannot meet the requested date.", true},
      {"6E", "due_date_rejected", kDate, "The carrier cannot meet the requested date.", true},
      {"E35", "due_date_rejected", kDate, "The carrier cannot meet the requested date.", true},
      {"E8", "loa_required", kNone,
       "The carrier wants a signed LOA less than 30 days old. Re-send the signature request.",
       true},
      {"6H", "carrier_unavailable", kNone,
       "The losing carrier had an outage. Resubmit without changes.", true},
      {"E9999", "split_required", kNumbers,
       "The carrier requires this order to be split. Create separate requests.", true},
      {"E18", "data_missing", kNone, "The carrier says required data is missing.", true},
      {"6C", "all_data_mismatch", kAccount,
       "Nothing on the request matches the carrier's records. Ask the losing carrier for a "
       "customer service record (CSR) and copy its details.",
       true},
  };
  return kTable;
}

const RejectionInfo& ClassifyRejection(std::string_view raw_code) {
  static const RejectionInfo kOther{"",
                                    "other",
                                    {},
                                    "The carrier rejected the order. Read the "
                                    "carrier's message and contact support if it is unclear.",
                                    true};
  const auto& table = RejectionTable();
  const auto it = std::find_if(table.begin(), table.end(), [raw_code](const RejectionInfo& r) {
    return r.raw_code == raw_code;
  });
  return it == table.end() ? kOther : *it;
}

}  // namespace portline::porting
