// folioctl token create | revoke: API bearer tokens for folio-server. create prints the
// token once (only its SHA-256 is stored) and its id on stderr; revoke takes that id.
//
// create's stdout is the bare token in either output mode: it is a secret meant for
// `token=$(folioctl token create ...)`, and wrapping it in JSON would only make every caller
// unwrap it. Its notice on stderr follows the mode (a JSON log line for programs).
#include <iostream>

#include "cli.hpp"
#include "folio/auth/tokens.hpp"
#include "folio/db/pool.hpp"
#include "output.hpp"

namespace folioctl {

namespace {

namespace auth = folio::auth;
namespace db = folio::db;

struct TokenArgs {
  std::string database_url;
  std::optional<std::int64_t> org;
  bool admin = false;
  std::optional<std::string> label;
  std::int64_t id = 0;
};

void add_database_url(CLI::App* cmd, std::string& url) {
  url = env_or({"DATABASE_URL", "DATABASE_DIRECT_URL"});
  cmd->add_option("--database-url", url,
                  "PostgreSQL URL (env DATABASE_URL, then DATABASE_DIRECT_URL)");
}

int cmd_create(const TokenArgs& args) {
  require_database_url(args.database_url);
  if (args.admin == args.org.has_value()) throw UsageError("give exactly one of --org N, --admin");
  const auto scope = args.admin ? auth::Scope::admin : auth::Scope::org;
  const auto [token, principal] =
      run([&](asio::any_io_executor ex)
              -> asio::awaitable<std::pair<std::string, std::optional<auth::Principal>>> {
        db::Pool pool(ex, {.dsn = args.database_url, .name = "folioctl", .max_size = 1});
        auto created = co_await auth::TokenStore::create(pool, scope, args.org, args.label);
        auto found = co_await auth::TokenStore::lookup(pool, created);
        co_return std::pair{std::move(created), std::move(found)};
      });
  std::cout << token << "\n";
  if (principal) {
    const std::string scope_text =
        args.org ? "organization " + std::to_string(*args.org) : std::string("admin");
    boost::json::object fields{{"token_id", principal->token_id},
                               {"scope", args.org ? "org" : "admin"}};
    if (args.org) fields["org_id"] = *args.org;
    print_notice("token id " + std::to_string(principal->token_id) + " (" + scope_text +
                     "): shown once, store it now",
                 std::move(fields));
  }
  return 0;
}

int cmd_revoke(const TokenArgs& args) {
  require_database_url(args.database_url);
  const bool revoked = run([&](asio::any_io_executor ex) -> asio::awaitable<bool> {
    db::Pool pool(ex, {.dsn = args.database_url, .name = "folioctl", .max_size = 1});
    co_return co_await auth::TokenStore::revoke(pool, args.id);
  });
  if (!revoked) {
    print_error("no active token with id " + std::to_string(args.id), 1, {{"token_id", args.id}});
    return 1;
  }
  print_result({{"token_id", args.id}, {"revoked", true}},
               "token " + std::to_string(args.id) + " revoked\n");
  return 0;
}

}  // namespace

void register_token(CLI::App& app, Action& action) {
  auto* token = app.add_subcommand("token", "API bearer tokens for folio-server");
  token->require_subcommand(1);

  auto create_args = std::make_shared<TokenArgs>();
  auto* create = token->add_subcommand(
      "create", "Create a token and print it (once: only its hash is stored)");
  add_database_url(create, create_args->database_url);
  auto* org = create->add_option("--org", create_args->org, "Organization the token acts for");
  org->check(CLI::PositiveNumber);
  auto* admin = create->add_flag("--admin", create_args->admin,
                                 "Admin token: every organization and the admin endpoints");
  org->excludes(admin);
  create->add_option("--label", create_args->label, "A note on what the token is for");
  on_parsed(create, action, create_args, cmd_create);

  auto revoke_args = std::make_shared<TokenArgs>();
  auto* revoke = token->add_subcommand("revoke", "Revoke a token by its id");
  add_database_url(revoke, revoke_args->database_url);
  revoke->add_option("--id", revoke_args->id, "Token id (printed by token create)")
      ->required()
      ->check(CLI::PositiveNumber);
  on_parsed(revoke, action, revoke_args, cmd_revoke);
}

}  // namespace folioctl
