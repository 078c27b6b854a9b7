// `portline org` and `portline key`: organizations, entitlements, API keys.
#include <CLI/CLI.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>

#include "cli/common.hpp"

namespace portline::cli {

void AddOrgCommands(CLI::App& app, config::Flags& flags, Args& args, int& rc) {
  // org
  auto* org_cmd = app.add_subcommand("org", "Manage organizations");
  org_cmd->require_subcommand(1);
  auto* org_create = org_cmd->add_subcommand("create", "Create an organization; prints its id");
  AddCommonFlags(org_create, flags);
  org_create->add_option("name", args.org_name, "organization name")->required();
  org_create->add_option("--entitlement", args.entitlements,
                         "entitlement to grant (repeatable): SIP");
  org_create->add_flag("--sandbox", args.sandbox_org,
                       "a sandbox: simulated carriers and its own clock (/v1/sandbox)");
  org_create->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto created = ctx.accounts->CreateOrg(args.org_name, args.entitlements, args.sandbox_org);
    if (Failed(created, rc)) {
      return;
    }
    std::printf("%s\n", created->id.c_str());
  });

  auto* org_list = org_cmd->add_subcommand("list", "List organizations");
  AddCommonFlags(org_list, flags);
  org_list->callback([&] {
    Context ctx;
    if ((rc = Open(flags, ctx)) != 0) {
      return;
    }
    auto orgs = ctx.accounts->ListOrgs();
    if (Failed(orgs, rc)) {
      return;
    }
    for (const auto& o : *orgs) {
      std::printf("%s\t%s\t%s\t%s\t%s\n", o.id.c_str(), o.name.c_str(),
                  Join(o.entitlements).c_str(), o.sandbox ? "sandbox" : "live",
                  Ts(o.created_at).c_str());
    }
  });

  auto* org_entitle = org_cmd->add_subcommand("entitle", "Grant (or --revoke) an entitlement");
  AddCommonFlags(org_entitle, flags);
  org_entitle->add_option("org", args.org_name, "organization id or name")->required();
  org_entitle->add_option("entitlement", args.entitlement, "entitlement: SIP")->required();
  org_entitle->add_flag("--revoke", args.revoke_entitlement, "revoke instead of grant");
  org_entitle->callback([&] {
    Context ctx;
    const auto found = OpenOrg(flags, args.org_name, ctx, rc);
    if (!found) {
      return;
    }
    auto changed =
        ctx.accounts->SetEntitlement(found->id, args.entitlement, !args.revoke_entitlement);
    if (Failed(changed, rc)) {
      return;
    }
    std::printf("%s\t%s\n", changed->id.c_str(), Join(changed->entitlements).c_str());
  });

  // key
  auto* key = app.add_subcommand("key", "Manage API keys");
  key->require_subcommand(1);
  auto* key_create = key->add_subcommand("create", "Create an API key; prints only the key");
  AddCommonFlags(key_create, flags);
  key_create->add_option("--org", args.org_name, "organization id or name")->required();
  key_create->add_option("--name", args.key_name, "a label for the key");
  key_create->add_flag("--rotate", args.rotate,
                       "revoke the organization's active keys with this name");
  key_create->callback([&] {
    Context ctx;
    const auto found = OpenOrg(flags, args.org_name, ctx, rc);
    if (!found) {
      return;
    }
    if (args.rotate) {
      if (auto revoked = ctx.accounts->RevokeKeysNamed(found->id, args.key_name); !revoked) {
        PrintError(revoked.error());
        rc = 1;
        return;
      }
    }
    auto created = ctx.accounts->CreateKey(found->id, args.key_name);
    if (Failed(created, rc)) {
      return;
    }
    std::printf("%s\n", created->secret.c_str());
  });

  auto* key_list = key->add_subcommand("list", "List an organization's API keys");
  AddCommonFlags(key_list, flags);
  key_list->add_option("--org", args.org_name, "organization id or name")->required();
  key_list->callback([&] {
    Context ctx;
    const auto found = OpenOrg(flags, args.org_name, ctx, rc);
    if (!found) {
      return;
    }
    std::optional<std::string> page_cursor;
    do {
      auto page = ctx.accounts->ListKeys(found->id, page_cursor, 100);
      if (Failed(page, rc)) {
        return;
      }
      for (const auto& k : page->items) {
        std::printf("%s\t%s\t%s\t%s\tcreated=%s\tlast_used=%s\n", k.id.c_str(),
                    k.name.empty() ? "-" : k.name.c_str(), k.prefix.c_str(),
                    k.revoked_at ? "revoked" : "active", Ts(k.created_at).c_str(),
                    Ts(k.last_used_at).c_str());
      }
      page_cursor = page->next_cursor;
    } while (page_cursor);
  });

  auto* key_revoke = key->add_subcommand("revoke", "Revoke an API key");
  AddCommonFlags(key_revoke, flags);
  key_revoke->add_option("key_id", args.key_id, "key id (key_…)")->required();
  key_revoke->add_option("--org", args.org_name, "organization id or name")->required();
  key_revoke->callback([&] {
    Context ctx;
    const auto found = OpenOrg(flags, args.org_name, ctx, rc);
    if (!found) {
      return;
    }
    auto revoked = ctx.accounts->RevokeKey(found->id, args.key_id);
    if (Failed(revoked, rc)) {
      return;
    }
    std::printf("%s\trevoked\n", revoked->id.c_str());
  });
}

}  // namespace portline::cli
