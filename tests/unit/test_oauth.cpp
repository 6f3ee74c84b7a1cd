// Pure parts of the connect flow: host normalization and the referer check, state digests,
// the disconnect hook's signature check, what the callback shows for each failure.
#include <boost/test/unit_test.hpp>

#include "core/error.hpp"
#include "core/host.hpp"
#include "crypto/crypto.hpp"
#include "oauth/connect.hpp"
#include "oauth/connections.hpp"
#include "support/app_fixture.hpp"

using amo::core::allowed_host;
using amo::core::Fault;

namespace {
// Independently computed: printf '%s' '00000000-0000-4000-8000-000000000001|31920194' |
//   openssl dgst -sha256 -hmac unit-client-secret
const std::string kHookSig = "d56768a32a6234998c5899f91853c90f3e12918d506a882a4f0c28d022d08ca2";
const std::string kClient = "00000000-0000-4000-8000-000000000001";

Fault fault_of_hook(const amo::Config& cfg, std::optional<std::string> uuid,
                    std::optional<std::string> account, std::optional<std::string> sig) {
  try {
    amo::oauth::verify_hook(cfg, uuid, account, sig);
  } catch (const amo::core::Error& e) {
    return e.fault();
  }
  return Fault::kInternal;  // "no fault"
}
}  // namespace

BOOST_AUTO_TEST_SUITE(oauth)

BOOST_AUTO_TEST_CASE(referer_host_check_normalizes) {
  const std::vector<std::string> allowed = {"amocrm.ru", "amocrm.com", "kommo.com"};
  for (auto [raw, want] : std::vector<std::pair<std::string, std::string>>{
           {"reforyou.amocrm.ru", "reforyou.amocrm.ru"},
           {"amocrm.ru", "amocrm.ru"},
           {"x.y.kommo.com", "x.y.kommo.com"},
           {"REFORYOU.AMOCRM.RU", "reforyou.amocrm.ru"},
           {"Reforyou.Amocrm.Ru", "reforyou.amocrm.ru"},
           {"a-b.amocrm.com", "a-b.amocrm.com"}})
    BOOST_TEST_CONTEXT(raw) { BOOST_TEST(allowed_host(raw, allowed).value_or("-") == want); }
  for (auto bad :
       {"evil.com", "reforyou.amocrm.ru.evil.com", "evilamocrm.ru", "amocrm.ru@evil.com",
        "user@reforyou.amocrm.ru", "127.0.0.1", "10.0.0.1", "reforyou.amocrm.ru:443",
        "reforyou.amocrm.ru/", "https://reforyou.amocrm.ru", "", ".amocrm.ru",
        "reforyou..amocrm.ru", "reforyou.amocrm.ru.", "amocrm.ru.", "xn--e1a.amocrm.ru evil",
        "reforyou.amocrm.ru\n", "reforyou.amocrm.ru%2eevil.com", "reforyou.amocrm.r\xC3\xBC"})
    BOOST_TEST_CONTEXT(bad) { BOOST_TEST(!allowed_host(bad, allowed).has_value()); }
  BOOST_TEST(!allowed_host("reforyou.amocrm.ru", {"kommo.com"}).has_value());
  BOOST_TEST(!allowed_host(std::string(300, 'a') + ".amocrm.ru", allowed).has_value());
}

BOOST_AUTO_TEST_CASE(configured_hosts_are_normalized) {
  amo::test::AppFixture f(
      {{"AMO_DOMAIN", "ReForYou.AmoCRM.RU"}, {"AMO_ALLOWED_DOMAINS", "AmoCRM.ru, KOMMO.com"}});
  BOOST_TEST(f.cfg.amo_domain == "reforyou.amocrm.ru");
  BOOST_TEST((f.cfg.amo_allowed_domains == std::vector<std::string>{"amocrm.ru", "kommo.com"}));
  BOOST_TEST(allowed_host("X.KOMMO.COM", f.cfg.amo_allowed_domains).value_or("") == "x.kommo.com");
}

BOOST_AUTO_TEST_CASE(state_digest_is_sha256) {
  BOOST_TEST(amo::crypto::hex(amo::oauth::digest("abc")) ==
             "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  BOOST_TEST(amo::oauth::digest("a") != amo::oauth::digest("b"));
}

BOOST_AUTO_TEST_CASE(random_states_are_long_and_distinct) {
  auto a = amo::crypto::random_token(32), b = amo::crypto::random_token(32);
  BOOST_TEST(a != b);
  BOOST_TEST(a.size() == 43u);  // 256 bits, base64url without padding
  BOOST_TEST(
      a.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") ==
      std::string::npos);
}

BOOST_AUTO_TEST_CASE(disconnect_hook_signature_check) {
  amo::test::AppFixture f;
  BOOST_TEST(amo::oauth::verify_hook(f.cfg, kClient, "31920194", kHookSig) == 31920194);
  std::string upper = kHookSig;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  BOOST_TEST(amo::oauth::verify_hook(f.cfg, kClient, "31920194", upper) == 31920194);
  // Another account, another client, a changed or truncated signature, a missing part: 401.
  BOOST_TEST((fault_of_hook(f.cfg, kClient, "31920195", kHookSig) == Fault::kUnauthorized));
  BOOST_TEST((fault_of_hook(f.cfg, "00000000-0000-4000-8000-000000000002", "31920194", kHookSig) ==
              Fault::kUnauthorized));
  std::string flipped = kHookSig;
  flipped[10] = flipped[10] == 'a' ? 'b' : 'a';
  BOOST_TEST((fault_of_hook(f.cfg, kClient, "31920194", flipped) == Fault::kUnauthorized));
  BOOST_TEST(
      (fault_of_hook(f.cfg, kClient, "31920194", kHookSig.substr(0, 63)) == Fault::kUnauthorized));
  BOOST_TEST((fault_of_hook(f.cfg, std::nullopt, "31920194", kHookSig) == Fault::kUnauthorized));
  BOOST_TEST((fault_of_hook(f.cfg, kClient, std::nullopt, kHookSig) == Fault::kUnauthorized));
  BOOST_TEST((fault_of_hook(f.cfg, kClient, "31920194", std::nullopt) == Fault::kUnauthorized));
  // Signed correctly, but not a number: the request's fault, 400.
  auto sig = amo::crypto::hex(amo::crypto::hmac_sha256("unit-client-secret", kClient + "|12x"));
  BOOST_TEST((fault_of_hook(f.cfg, kClient, "12x", sig) == Fault::kInvalidParameter));
}

BOOST_AUTO_TEST_CASE(callback_fault_says_why_the_exchange_failed) {
  using amo::oauth::callback_fault;
  BOOST_TEST((callback_fault(Fault::kAmoCodeRejected) == Fault::kExchangeFailed));
  BOOST_TEST((callback_fault(Fault::kAmoRejected) == Fault::kExchangeFailed));
  BOOST_TEST((callback_fault(Fault::kAmoBadResponse) == Fault::kExchangeFailed));
  BOOST_TEST((callback_fault(Fault::kAmoForbidden) == Fault::kExchangeFailed));
  BOOST_TEST((callback_fault(Fault::kAmoUnavailable) == Fault::kExchangeUnavailable));
  BOOST_TEST((callback_fault(Fault::kAmoRateLimited) == Fault::kExchangeUnavailable));
  BOOST_TEST((callback_fault(Fault::kRateLimited) == Fault::kExchangeUnavailable));
  BOOST_TEST((callback_fault(Fault::kAmoTimeout) == Fault::kExchangeTimedOut));
  for (Fault same : {Fault::kInvalidState, Fault::kAccountNotAllowed, Fault::kDbUnavailable,
                     Fault::kForbidden, Fault::kRedemptionInProgress, Fault::kInternal})
    BOOST_TEST((callback_fault(same) == same));
}

BOOST_AUTO_TEST_SUITE_END()
