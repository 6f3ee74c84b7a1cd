// Faults: every amoCRM call the service makes × every way amoCRM (or the road to it) can
// fail, against the real stack; then process faults (PostgreSQL stopped under load, a
// server SIGKILLed in the middle of a refresh, one of two servers SIGKILLed under load).
//
// Each fault case asserts
//  - the documented answer: status and JSON code, or for the browser callback the HTML
//    error page with error=exchange_failed in the deep link; Retry-After where documented;
//  - that it came promptly: the simulator saw exactly the calls expected (no retry, no
//    second attempt after a timeout), nothing more;
//  - that the server survived: same pid, still running, /healthz 200;
//  - that nothing was stored: the amo_connection table is byte-identical (row_to_json of
//    every row), the OAuth state was given back, and the same request succeeds once amoCRM
//    behaves (where amoCRM itself has not used the grant up).
#include <signal.h>

#include <atomic>
#include <boost/test/unit_test.hpp>
#include <functional>
#include <iostream>
#include <mutex>
#include <thread>

#include "e2e_util.hpp"

using namespace amo::test;

namespace {

constexpr int kTimeoutMs = 1500;            // AMO_HTTP_TIMEOUT_MS of the fault-table stack
constexpr int kSlowMs = kTimeoutMs + 1000;  // "slow": past the timeout
// The two-server stack: requests are held inside amoCRM for longer than it takes to see
// them all arrive on a loaded machine.
constexpr int kTwoTimeoutMs = 4000;
constexpr int kTwoHoldMs = kTwoTimeoutMs + 1500;

Stack& fstack() {
  static std::unique_ptr<Stack> s;
  if (!s) {
    StackOptions o;
    o.env = {{"AMO_HTTP_TIMEOUT_MS", std::to_string(kTimeoutMs)}};
    s = std::make_unique<Stack>(o);
    std::atexit([] { s.reset(); });
  }
  return *s;
}

// Two servers behind one nginx upstream, for the process faults.
Stack& pstack() {
  static std::unique_ptr<Stack> s;
  if (!s) {
    StackOptions o;
    o.servers = 2;
    o.env = {{"AMO_HTTP_TIMEOUT_MS", std::to_string(kTwoTimeoutMs)},
             {"AMO_RATE_LIMIT_RPS", "1000"}};
    // Requests held inside the simulator each keep one of its threads.
    o.sim_env = {{"SIM_THREADS", "32"}};
    s = std::make_unique<Stack>(o);
    std::atexit([] { s.reset(); });
  }
  return *s;
}

using Counts = std::map<std::string, int64_t>;

Counts sim_counts(const Stack& s) {
  auto d = body_json(http_get(s.sim + "/_sim/counters"));
  Counts c;
  for (auto& m : d.GetObject())
    if (m.value.IsInt64()) c[m.name.GetString()] = m.value.GetInt64();
  return c;
}

// The counters a case compares exactly (the others are derived or time-dependent).
const char* const kCounted[] = {"token_authorization_code",
                                "token_refresh_token",
                                "tokens_issued",
                                "account",
                                "leads",
                                "pipelines",
                                "exchange_api_key",
                                "rate_limited",
                                "injected_failures"};

std::string delta_text(const Counts& before, const Counts& after) {
  std::string out;
  for (const char* k : kCounted) {
    int64_t d = after.at(k) - before.at(k);
    if (d) out += std::string(out.empty() ? "" : " ") + k + "+" + std::to_string(d);
  }
  return out.empty() ? "none" : out;
}

// Every row of amo_connection, every column, as text: what "byte-identical" is checked on.
std::string connections(const Stack& s) {
  return s.pg->psql(
      "SELECT coalesce(string_agg(row_to_json(c)::text, E'\\n' ORDER BY user_id), '') "
      "FROM amo_connection c");
}

std::string row_of(const Stack& s, const std::string& user) {
  return s.pg->psql(
      "SELECT coalesce((SELECT row_to_json(c)::text FROM amo_connection c WHERE "
      "user_id = '" +
      user + "'), 'absent')");
}

// "consumed,failed" of a state: "f,f" when it is free to be used again.
std::string state_flags(const Stack& s, const std::string& state) {
  return s.pg->psql(
      "SELECT CASE WHEN consumed_at IS NULL THEN 'f' ELSE 't' END || ',' || "
      "CASE WHEN failed_at IS NULL THEN 'f' ELSE 't' END FROM amo_oauth_state "
      "WHERE state_hash = sha256('" +
      state + "'::bytea)");
}

void knob(const Stack& s, const std::string& json) { sim_post(s, "/_sim/knobs", json); }

void fail_next(const Stack& s, const std::string& endpoint, const std::string& rest) {
  knob(s, "{\"fail_next\":{\"endpoint\":\"" + endpoint + "\"," + rest + "}}");
}

// Threads that are always joined, also when a check ends the test case early.
struct Threads {
  std::atomic<bool>& stop;
  std::vector<std::thread> list;
  explicit Threads(std::atomic<bool>& s) : stop(s) {}
  ~Threads() { join(); }
  template <typename F>
  void add(F&& f) {
    list.emplace_back(std::forward<F>(f));
  }
  void join() {
    stop = true;
    for (auto& t : list)
      if (t.joinable()) t.join();
  }
};

// Waits (bounded) for a condition; false if it never held.
bool wait_for(const std::function<bool()>& cond, int timeout_ms = 20000) {
  for (int waited = 0; waited < timeout_ms; waited += 25) {
    if (cond()) return true;
    sleep_ms(25);
  }
  return cond();
}

void server_alive(Stack& s, int pid, int i = 0) {
  BOOST_TEST(s.server(i).pid() == pid);
  BOOST_TEST(s.server(i).running());
  BOOST_TEST(http_get(s.base + "/healthz").status == 200);
}

size_t occurrences(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
  return n;
}

// ---------------------------------------------------------------- the fault table

// What a fault is, as the service must tell it.
enum class Class {
  kBad,          // unreadable answer: 502 amo_bad_response (callback 502 exchange_failed)
  kUnavailable,  // 5xx, refused, cut mid-body: 503 amo_unavailable, Retry-After 5
  kTimeout,      // past AMO_HTTP_TIMEOUT_MS: 504 amo_timeout (callback 504 exchange_failed)
  kAccepted,     // API-key exchange: a readable 2xx is accepted whatever it holds (nothing
                 // in it is used)
};

struct Fault {
  std::string name;
  std::string knob;  // the fail_next members after "endpoint"
  Class cls;
};

const std::vector<Fault>& faults() {
  static const std::vector<Fault> f = {
      {"html", "\"body\":\"html\"", Class::kBad},
      {"truncated", "\"body\":\"truncated\"", Class::kBad},
      {"wrong_types", "\"body\":\"wrong_types\"", Class::kBad},
      {"missing_fields", "\"body\":\"missing_fields\"", Class::kBad},
      {"invalid_utf8", "\"body\":\"invalid_utf8\"", Class::kBad},
      {"deep", "\"body\":\"deep\"", Class::kBad},
      {"huge", "\"body\":\"huge\"", Class::kBad},
      {"redirect", "\"body\":\"redirect\"", Class::kBad},
      {"close", "\"body\":\"close\"", Class::kUnavailable},
      {"slow", "\"latency_ms\":" + std::to_string(kSlowMs) + ",\"status\":503", Class::kTimeout},
      {"500", "\"status\":500,\"body\":\"json\"", Class::kUnavailable},
      {"502", "\"status\":502,\"body\":\"html\"", Class::kUnavailable},
      {"503", "\"status\":503,\"body\":\"json\"", Class::kUnavailable},
      {"504", "\"status\":504,\"body\":\"html\"", Class::kUnavailable},
  };
  return f;
}

// One upstream call, reached through the route that makes it.
struct Attempt {
  std::string user, state;
  std::function<HttpResult()> send;
};

enum class Retry {
  kSucceeds,    // the same request succeeds once amoCRM behaves
  kCodeBurned,  // amoCRM used the code up before the failing step: the same link now gets
                // amoCRM's "code revoked" (502 exchange_failed) and the state is marked failed
};

struct Call {
  std::string name;
  std::string endpoint;  // fail_next endpoint
  bool page;             // the browser callback (HTML) rather than JSON
  Counts calls;          // what one failing attempt costs at amoCRM
  Retry retry;
  std::function<Attempt(Stack&, const std::string& tag)> prepare;
};

HttpResult exchange_code_post(Stack& s, const std::string& user, const std::string& code,
                              const std::string& state, const std::string& referer) {
  return http(
      "POST", s.api("/exchange-code"), {s.auth(user), "Content-Type: application/json"},
      "{\"code\":\"" + code + "\",\"state\":\"" + state + "\",\"referer\":\"" + referer + "\"}");
}

std::vector<Call> calls() {
  auto callback = [](Stack& s, const std::string& tag) {
    Attempt a;
    a.user = "f-cb-" + tag;
    auto g = issue_code(s);
    a.state = new_state(s, a.user);
    std::string url = callback_url(s, g.code, a.state, g.referer);
    a.send = [url] { return http_get(url); };
    return a;
  };
  auto connected_get = [](const char* route, bool expire) {
    return [route, expire](Stack& s, const std::string& tag) {
      Attempt a;
      a.user = std::string("f-get-") + tag;
      connect_user(s, a.user);
      if (expire) sim_post(s, "/_sim/expire-access");  // the next API call answers 401
      a.send = [&s, user = a.user, route] { return http_get(s.api(route), {s.auth(user)}); };
      return a;
    };
  };
  return {
      {"code exchange (callback)",
       "token_code",
       true,
       {{"token_authorization_code", 1}},
       Retry::kSucceeds,
       callback},
      {"code exchange (exchange-code)",
       "token_code",
       false,
       {{"token_authorization_code", 1}},
       Retry::kSucceeds,
       [](Stack& s, const std::string& tag) {
         // A user who is connected already: a failed re-connect must leave the row alone.
         Attempt a;
         a.user = "f-ex-" + tag;
         connect_user(s, a.user);
         auto g = issue_code(s);
         a.state = new_state(s, a.user);
         a.send = [&s, user = a.user, g, st = a.state] {
           return exchange_code_post(s, user, g.code, st, g.referer);
         };
         return a;
       }},
      {"refresh (leads after 401)",
       "token_refresh",
       false,
       {{"leads", 1}, {"token_refresh_token", 1}},
       Retry::kSucceeds,
       connected_get("/leads", true)},
      {"account (callback)",
       "account",
       true,
       {{"token_authorization_code", 1}, {"tokens_issued", 1}, {"account", 1}},
       Retry::kCodeBurned,
       callback},
      {"account (test)",
       "account",
       false,
       {{"account", 1}},
       Retry::kSucceeds,
       connected_get("/test", false)},
      {"leads", "leads", false, {{"leads", 1}}, Retry::kSucceeds, connected_get("/leads", false)},
      {"pipelines",
       "pipelines",
       false,
       {{"pipelines", 1}},
       Retry::kSucceeds,
       connected_get("/pipelines", false)},
      {"API-key exchange",
       "exchange",
       false,
       {{"exchange_api_key", 1}},
       Retry::kSucceeds,
       [](Stack& s, const std::string& tag) {
         Attempt a;
         a.user = "f-ak-" + tag;
         a.send = [&s, user = a.user, tag] {
           return http("POST", s.api("/exchange-api-key"),
                       {s.auth(user), "Content-Type: application/json"},
                       "{\"login\":\"" + tag + "@example.com\",\"api_key\":\"k-" + tag + "\"}");
         };
         return a;
       }},
  };
}

struct Expected {
  long status;
  std::string code;         // JSON error code, or the deep link's error for pages
  std::string retry_after;  // "" = none
};

Expected expected(const Call& c, Class cls) {
  if (cls == Class::kAccepted) return {202, "", ""};
  long status = cls == Class::kBad ? 502 : cls == Class::kUnavailable ? 503 : 504;
  std::string retry = cls == Class::kUnavailable ? "5" : "";
  if (c.page) return {status, "exchange_failed", retry};
  return {status,
          cls == Class::kBad           ? "amo_bad_response"
          : cls == Class::kUnavailable ? "amo_unavailable"
                                       : "amo_timeout",
          retry};
}

// The observed answer in one line, for the printed table.
std::string observed(const Call& c, const HttpResult& r) {
  std::string code;
  if (c.page) {
    auto p = r.body.find("callback?error=");
    code = p == std::string::npos
               ? "(no error link)"
               : "page error=" + r.body.substr(p + 15, r.body.find('&', p) - p - 15);
  } else if (r.status == 202) {
    code = "accepted";
  } else {
    rapidjson::Document d;
    d.Parse(r.body.c_str());
    code = !d.HasParseError() && d.IsObject() && d.HasMember("error")
               ? d["error"]["code"].GetString()
               : "(not the JSON error shape)";
  }
  std::string ra = r.header("retry-after");
  return std::to_string(r.status) + " " + code + (ra.empty() ? "" : " Retry-After " + ra);
}

void check_answer(const Call& c, const HttpResult& r, const Expected& e) {
  BOOST_TEST(r.status == e.status, r.status << " " << r.body.substr(0, 300));
  BOOST_TEST(r.header("retry-after") == e.retry_after);
  if (e.status == 202) {
    auto d = body_json(r);
    BOOST_TEST(std::string(d["status"].GetString()) == "accepted");
  } else if (c.page) {
    BOOST_TEST(r.header("content-type") == "text/html; charset=utf-8");
    BOOST_TEST(r.body.find("foryoure://amo-crm/callback?error=" + e.code) != std::string::npos);
  } else {
    BOOST_TEST(r.header("content-type") == "application/json; charset=utf-8");
    BOOST_TEST(error_code(r) == e.code);
  }
}

// After the failure, with amoCRM behaving again: the same request.
void check_retry(Stack& s, const Call& c, const Attempt& a) {
  auto r = a.send();
  if (c.retry == Retry::kCodeBurned) {
    BOOST_TEST(r.status == 502);
    BOOST_TEST(r.body.find("callback?error=exchange_failed") != std::string::npos);
    BOOST_TEST(state_flags(s, a.state) == "t,t");
    BOOST_TEST(row_of(s, a.user) == "absent");
    return;
  }
  if (c.endpoint == "exchange") {
    BOOST_TEST(r.status == 202, r.body);
    // Let the delivery land before the next case resets the simulator.
    BOOST_TEST(wait_for([&] { return counter(s, "deliveries") == 1; }));
    BOOST_TEST(counter(s, "last_delivery_status") == 200);
  } else {
    BOOST_TEST(r.status == 200, r.status << " " << r.body.substr(0, 300));
  }
  if (!a.state.empty()) BOOST_TEST(state_flags(s, a.state) == "t,f");
  if (!c.page && c.endpoint != "exchange") BOOST_TEST(body_json(r)["success"].IsTrue());
  if (a.state.size() || c.endpoint == "exchange")
    BOOST_TEST(
        body_json(http_get(s.api("/status"), {s.auth(a.user)}))["data"]["connected"].IsTrue());
}

int g_cases = 0;

void run_call(const Call& c) {
  Stack& s = fstack();
  const int pid = s.server(0).pid();
  int n = 0;
  for (const Fault& f : faults()) {
    BOOST_TEST_CONTEXT(c.name << " × " << f.name) {
      s.sim_reset();
      s.pg->psql("DELETE FROM amo_rate_limit");  // pacing of earlier cases must not delay
      std::string tag = c.endpoint + "-" + f.name + "-" + std::to_string(++n);
      Attempt a = c.prepare(s, tag);
      const std::string rows = connections(s);
      const std::string row = row_of(s, a.user);
      Counts before = sim_counts(s);
      fail_next(s, c.endpoint, f.knob);
      Class cls = f.cls;
      // A readable JSON object with a 2xx status: the API-key exchange reads nothing from it.
      if (c.endpoint == "exchange" && (f.name == "wrong_types" || f.name == "missing_fields"))
        cls = Class::kAccepted;
      HttpResult r = a.send();
      Counts after = sim_counts(s);
      std::cout << "fault table: " << c.name << " × " << f.name << " → " << observed(c, r)
                << " (amoCRM calls: " << delta_text(before, after) << ")" << std::endl;
      ++g_cases;
      check_answer(c, r, expected(c, cls));
      // Exactly the calls expected: the failing one, nothing retried.
      for (const char* k : kCounted) {
        int64_t want = k == std::string("injected_failures") ? 1 : 0;
        if (auto it = c.calls.find(k); it != c.calls.end()) want = it->second;
        BOOST_TEST_CONTEXT(k) { BOOST_TEST(after.at(k) - before.at(k) == want); }
      }
      server_alive(s, pid);
      // Nothing stored or changed; the state is free again.
      BOOST_TEST(connections(s) == rows);
      BOOST_TEST(row_of(s, a.user) == row);
      if (!a.state.empty()) BOOST_TEST(state_flags(s, a.state) == "f,f");
      if (cls == Class::kAccepted) continue;  // accepted: the 5-minute window is taken
      check_retry(s, c, a);
    }
  }
}

}  // namespace

BOOST_AUTO_TEST_SUITE(faults)

BOOST_AUTO_TEST_CASE(code_exchange_via_callback) { run_call(calls()[0]); }
BOOST_AUTO_TEST_CASE(code_exchange_via_exchange_code) { run_call(calls()[1]); }
BOOST_AUTO_TEST_CASE(refresh_forced_by_401) { run_call(calls()[2]); }
BOOST_AUTO_TEST_CASE(account_via_callback) { run_call(calls()[3]); }
BOOST_AUTO_TEST_CASE(account_via_test) { run_call(calls()[4]); }
BOOST_AUTO_TEST_CASE(leads) { run_call(calls()[5]); }
BOOST_AUTO_TEST_CASE(pipelines) { run_call(calls()[6]); }
BOOST_AUTO_TEST_CASE(api_key_exchange) { run_call(calls()[7]); }

// amoCRM unreachable (nothing listens at AMO_BASE_URL): every call that can be reached.
// The account lookup of the callback cannot: it goes to the same host as the token call
// before it.
BOOST_AUTO_TEST_CASE(connection_refused) {
  Stack& s = fstack();
  s.sim_reset();
  std::vector<Call> all = calls();
  std::vector<Attempt> attempts;
  std::vector<std::string> rows;
  std::vector<const Call*> which;
  for (const Call& c : all) {
    if (c.retry == Retry::kCodeBurned) continue;
    attempts.push_back(c.prepare(s, "refused-" + c.endpoint));
    which.push_back(&c);
  }
  // The refresh comes first here: the stored access token is past its expiry.
  for (size_t i = 0; i < which.size(); ++i)
    if (which[i]->endpoint == "token_refresh")
      s.pg->psql(
          "UPDATE amo_connection SET expires_at = now() - interval '1 minute' WHERE "
          "user_id = '" +
          attempts[i].user + "'");
  const std::string table = connections(s);
  Counts before = sim_counts(s);
  s.restart_server(0, {{"AMO_BASE_URL", "http://127.0.0.1:" + std::to_string(free_port())}});
  const int pid = s.server(0).pid();
  for (size_t i = 0; i < which.size(); ++i) {
    const Call& c = *which[i];
    BOOST_TEST_CONTEXT(c.name << " × refused") {
      HttpResult r = attempts[i].send();
      std::cout << "fault table: " << c.name << " × refused → " << observed(c, r) << std::endl;
      ++g_cases;
      check_answer(c, r, expected(c, Class::kUnavailable));
      server_alive(s, pid);
      if (!attempts[i].state.empty()) BOOST_TEST(state_flags(s, attempts[i].state) == "f,f");
    }
  }
  BOOST_TEST(connections(s) == table);
  Counts after = sim_counts(s);
  BOOST_TEST(delta_text(before, after) == "none");  // nothing reached the simulator
  s.restart_server(0);
  for (size_t i = 0; i < which.size(); ++i) BOOST_TEST_CONTEXT(which[i]->name << " retried") {
      check_retry(s, *which[i], attempts[i]);
    }
}

// Every field the service reads, alone with the wrong type or missing: 502, never a
// half-mapped answer or an empty list; fields it does not read may hold anything.
BOOST_AUTO_TEST_CASE(each_read_field_mistyped_or_missing) {
  Stack& s = fstack();
  const int pid = s.server(0).pid();
  struct Probe {
    const char* endpoint;
    const char* route;
    bool expire;  // reach the token endpoint through a forced refresh
    std::vector<std::string> fields;
  };
  const std::vector<Probe> probes = {
      {"leads",
       "/leads",
       false,
       {"_embedded", "leads", "id", "name", "price", "status_id", "pipeline_id",
        "responsible_user_id", "created_at", "updated_at", "closed_at", "_links"}},
      {"pipelines",
       "/pipelines",
       false,
       {"_embedded", "pipelines", "id", "name", "is_main", "statuses", "color", "type"}},
      {"account", "/test", false, {"id", "name", "subdomain"}},
      {"token_refresh", "/leads", true, {"access_token", "refresh_token", "expires_in"}},
  };
  int n = 0;
  for (const Probe& p : probes) {
    for (const char* kind : {"wrong_types", "missing_fields"}) {
      for (const std::string& field : p.fields) {
        // Removing a member that may be absent, or mistyping null-able ones, is not garbage:
        if (std::string(kind) == "missing_fields" &&
            (field != "_embedded" && field != "leads" && field != "pipelines" && field != "id" &&
             field.find("token") == std::string::npos && field != "expires_in"))
          continue;
        BOOST_TEST_CONTEXT(p.endpoint << " " << kind << " " << field) {
          s.sim_reset();
          s.pg->psql("DELETE FROM amo_rate_limit");
          std::string user = "f-field-" + std::to_string(++n);
          connect_user(s, user);
          if (p.expire) sim_post(s, "/_sim/expire-access");
          const std::string rows = connections(s);
          fail_next(s, p.endpoint,
                    std::string("\"body\":\"") + kind + "\",\"field\":\"" + field + "\"");
          auto r = http_get(s.api(p.route), {s.auth(user)});
          ++g_cases;
          BOOST_TEST(r.status == 502, r.status << " " << r.body.substr(0, 200));
          BOOST_TEST(error_code(r) == "amo_bad_response");
          BOOST_TEST(counter(s, "injected_failures") == 1);
          BOOST_TEST(connections(s) == rows);
          server_alive(s, pid);
        }
      }
    }
  }
  // Tolerant reader: members the service does not read are not checked.
  for (auto [endpoint, route, field] :
       std::vector<std::tuple<const char*, const char*, const char*>>{
           {"leads", "/leads", "group_id"},
           {"leads", "/leads", "custom_fields_values"},
           {"pipelines", "/pipelines", "sort"},
           {"account", "/test", "currency"}}) {
    BOOST_TEST_CONTEXT(endpoint << " wrong_types " << field) {
      s.sim_reset();
      std::string user = "f-field-" + std::to_string(++n);
      connect_user(s, user);
      fail_next(s, endpoint, std::string("\"body\":\"wrong_types\",\"field\":\"") + field + "\"");
      auto r = http_get(s.api(route), {s.auth(user)});
      ++g_cases;
      BOOST_TEST(r.status == 200, r.body.substr(0, 200));
      BOOST_TEST(counter(s, "injected_failures") == 1);
    }
  }
  std::cout << "fault cases so far: " << g_cases << std::endl;
}

// ---------------------------------------------------------------- process faults

// A server SIGKILLed while it waits for amoCRM's refresh answer (row locked, transaction
// open). Whether amoCRM then completes the orphaned refresh (the pair it rotated is lost)
// or fails it (the old pair still good), the stored row is whole: the old pair, unchanged,
// and the next request either works or asks clearly for re-authorization. Other users are
// untouched.
BOOST_AUTO_TEST_CASE(sigkill_during_refresh) {
  Stack& s = fstack();
  // A long timeout and a long hold: the kill must land while the server still waits.
  const std::map<std::string, std::string> patient = {{"AMO_HTTP_TIMEOUT_MS", "8000"}};
  s.restart_server(0, patient);
  for (bool amo_completes : {true, false}) {
    BOOST_TEST_CONTEXT((amo_completes ? "amoCRM completes the orphaned refresh"
                                      : "amoCRM fails the orphaned refresh")) {
      s.sim_reset();
      s.pg->psql("DELETE FROM amo_rate_limit");
      std::string k = amo_completes ? "kill-a" : "kill-b", o = k + "-other";
      connect_user(s, k);
      connect_user(s, o);
      s.pg->psql(
          "UPDATE amo_connection SET expires_at = now() - interval '1 minute' WHERE "
          "user_id = '" +
          k + "'");
      const std::string row_k = row_of(s, k), row_o = row_of(s, o);
      // The refresh is held inside amoCRM long enough to kill the server meanwhile.
      fail_next(s, "token_refresh",
                "\"latency_ms\":3000" + std::string(amo_completes ? "" : ",\"status\":503"));
      const int64_t issued = counter(s, "tokens_issued");
      HttpResult in_flight;
      std::atomic<bool> unused{false};
      Threads t(unused);
      t.add([&] { in_flight = http_get(s.api("/leads"), {s.auth(k)}); });
      BOOST_REQUIRE(wait_for([&] { return counter(s, "token_refresh_token") == 1; }));
      // The server holds the row lock while it waits.
      bool locked = false;
      try {
        s.pg->psql("SELECT 1 FROM amo_connection WHERE user_id = '" + k + "' FOR UPDATE NOWAIT");
      } catch (const std::exception&) {
        locked = true;
      }
      BOOST_TEST(locked);
      BOOST_TEST(s.server(0).stop(SIGKILL, 5000) == -SIGKILL);
      t.join();
      // nginx answers the request whose server died: its JSON 502, not an HTML page.
      BOOST_TEST(in_flight.status == 502);
      BOOST_TEST(in_flight.header("content-type") == "application/json");
      BOOST_TEST(error_code(in_flight) == "service_unavailable");
      // The orphaned refresh runs to its end inside amoCRM.
      if (amo_completes)
        BOOST_TEST(wait_for([&] { return counter(s, "tokens_issued") == issued + 1; }));
      else
        BOOST_TEST(wait_for([&] { return counter(s, "token_errors") == 1; }));
      // The killed transaction left nothing: both rows as they were.
      BOOST_TEST(row_of(s, k) == row_k);
      BOOST_TEST(row_of(s, o) == row_o);
      s.restart_server(0, patient);
      auto other = http_get(s.api("/leads"), {s.auth(o)});
      BOOST_TEST(other.status == 200);
      BOOST_TEST(row_of(s, o) == row_o);
      auto again = http_get(s.api("/leads"), {s.auth(k)});
      auto st = body_json(http_get(s.api("/status"), {s.auth(k)}));
      if (amo_completes) {
        // amoCRM rotated the pair the dead server never stored: the old refresh token is
        // revoked, and the connection says so.
        BOOST_TEST(again.status == 409);
        BOOST_TEST(error_code(again) == "reauthorization_required");
        BOOST_TEST(st["data"]["needsReauth"].IsTrue());
        BOOST_TEST(st["data"]["hasTokens"].IsTrue());
      } else {
        BOOST_TEST(again.status == 200, again.body);
        BOOST_TEST(st["data"]["connected"].IsTrue());
        BOOST_TEST(counter(s, "tokens_issued") == issued + 1);
      }
      BOOST_TEST(counter(s, "token_refresh_token") == 2);
    }
  }
  s.restart_server(0);
}

// PostgreSQL stopped under load: every answer meanwhile is a JSON 503 database_unavailable
// with Retry-After; once it is back both servers serve again without being restarted.
BOOST_AUTO_TEST_CASE(database_stopped_under_load) {
  Stack& s = pstack();
  s.sim_reset();
  knob(s, "{\"rate_limit\":0}");
  connect_user(s, "db-load");
  const int pid0 = s.server(0).pid(), pid1 = s.server(1).pid();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, unavailable{0};
  std::mutex mu;
  std::vector<std::string> odd;
  Threads load(stop);
  for (int i = 0; i < 4; ++i)
    load.add([&, i] {
      while (!stop.load()) {
        auto r = http_get(s.api(i % 2 ? "/status" : "/leads?limit=1"), {s.auth("db-load")});
        if (r.status == 200) {
          ++ok;
        } else if (r.status == 503 && r.header("retry-after") == "2" &&
                   r.body.find("\"code\":\"database_unavailable\"") != std::string::npos) {
          ++unavailable;
        } else {
          std::lock_guard<std::mutex> lk(mu);
          odd.push_back(std::to_string(r.status) + " " + r.body.substr(0, 200));
        }
      }
    });
  BOOST_REQUIRE(wait_for([&] { return ok.load() >= 20; }));
  s.pg->stop();
  BOOST_TEST(wait_for([&] { return unavailable.load() >= 40; }));
  auto ready = http_get(s.base + "/readyz");
  BOOST_TEST(ready.status == 503);
  BOOST_TEST(http_get(s.base + "/healthz").status == 200);  // alive, not ready
  const size_t log0 = s.server_log(0).size(), log1 = s.server_log(1).size();
  s.pg->start();
  const int ok_at_start = ok.load();
  BOOST_TEST(wait_for([&] { return ok.load() >= ok_at_start + 40; }, 30000));
  load.join();
  {
    std::lock_guard<std::mutex> lk(mu);
    BOOST_TEST(odd.empty(),
               odd.size() << " unexpected answers, first: " << (odd.empty() ? "" : odd.front()));
  }
  std::cout << "database stopped under load: " << ok.load() << " ok, " << unavailable.load()
            << " database_unavailable" << std::endl;
  // Both servers answered 200 again after the restart of PostgreSQL, by themselves.
  BOOST_TEST(s.server_log(0).substr(log0).find("\"status\":200") != std::string::npos);
  BOOST_TEST(s.server_log(1).substr(log1).find("\"status\":200") != std::string::npos);
  BOOST_TEST(http_get(s.base + "/readyz").status == 200);
  server_alive(s, pid0, 0);
  server_alive(s, pid1, 1);
}

// One of two servers SIGKILLed under load. Eight POST /exchange-code are held inside
// amoCRM (so each is in flight on one of the servers) while GET /status runs in a loop.
// Only the requests in flight on the killed server get nginx's JSON 502; the survivor's
// finish with their own answer; every GET (retried by nginx, or routed to the survivor)
// succeeds; nothing answers HTML.
BOOST_AUTO_TEST_CASE(sigkill_one_of_two_servers_under_load) {
  Stack& s = pstack();
  s.sim_reset();
  knob(s, "{\"rate_limit\":0}");
  connect_user(s, "two-load");
  const int pid0 = s.server(0).pid();
  const size_t seen0 = occurrences(s.server_log(0), "\"route\":\"/exchange-code\"");
  std::atomic<bool> stop{false}, killed{false};
  std::atomic<int> gets{0}, gets_after{0};
  std::mutex mu;
  std::vector<std::string> bad_gets;
  Threads load(stop);
  for (int i = 0; i < 3; ++i)
    load.add([&] {
      while (!stop.load()) {
        bool after = killed.load();
        auto r = http_get(s.api("/status"), {s.auth("two-load")});
        ++gets;
        if (after) ++gets_after;
        if (r.status != 200) {
          std::lock_guard<std::mutex> lk(mu);
          bad_gets.push_back(std::to_string(r.status) + " " + r.header("content-type") + " " +
                             r.body.substr(0, 120));
        }
      }
    });
  // amoCRM holds each code exchange past the timeout (then rejects it, unheard).
  fail_next(s, "token_code",
            "\"latency_ms\":" + std::to_string(kTwoHoldMs) + ",\"status\":400,\"count\":8");
  const int64_t exchanges = counter(s, "token_authorization_code");  // the connect's own
  std::vector<HttpResult> held(8);
  std::atomic<bool> unused{false};
  Threads posts(unused);
  for (int i = 0; i < 8; ++i)
    posts.add([&, i] {
      held[static_cast<size_t>(i)] =
          http("POST", s.api("/exchange-code"),
               {s.auth("two-ex-" + std::to_string(i)), "Content-Type: application/json"},
               "{\"code\":\"held-" + std::to_string(i) + "\"}");
    });
  BOOST_REQUIRE_MESSAGE(
      wait_for([&] { return counter(s, "token_authorization_code") == exchanges + 8; }),
      "held in amoCRM: " << counter(s, "token_authorization_code") - exchanges << " of 8");
  BOOST_TEST(s.server(1).stop(SIGKILL, 5000) == -SIGKILL);
  killed = true;
  posts.join();
  BOOST_TEST(wait_for([&] { return gets_after.load() >= 30; }));
  load.join();

  int dropped = 0, finished = 0;
  for (auto& r : held) {
    BOOST_TEST(r.header("content-type").rfind("application/json", 0) == 0, r.body.substr(0, 200));
    if (r.status == 502 && error_code(r) == "service_unavailable") {
      ++dropped;
      BOOST_TEST(r.header("retry-after") == "5");
    } else {
      BOOST_TEST(r.status == 504, r.body);  // the survivor's: amoCRM past the timeout
      BOOST_TEST(error_code(r) == "amo_timeout");
      ++finished;
    }
  }
  // The survivor logged exactly the ones it finished; the rest were the killed server's.
  const size_t served0 = occurrences(s.server_log(0), "\"route\":\"/exchange-code\"") - seen0;
  BOOST_TEST(static_cast<size_t>(finished) == served0);
  BOOST_TEST(dropped == 8 - static_cast<int>(served0));
  BOOST_TEST(dropped >= 1);
  BOOST_TEST(finished >= 1);
  {
    std::lock_guard<std::mutex> lk(mu);
    BOOST_TEST(bad_gets.empty(), bad_gets.size() << " GETs failed, first: "
                                                 << (bad_gets.empty() ? "" : bad_gets.front()));
  }
  std::cout << "one of two servers SIGKILLed: " << dropped << " in-flight dropped (JSON 502), "
            << finished << " finished by the survivor, " << gets.load() << " GETs all 200"
            << std::endl;
  server_alive(s, pid0, 0);
  s.restart_server(1);
  BOOST_TEST(s.server(1).running());
  for (int i = 0; i < 6; ++i)
    BOOST_TEST(http_get(s.api("/status"), {s.auth("two-load")}).status == 200);
  std::cout << "fault cases in all: " << g_cases << std::endl;
}

BOOST_AUTO_TEST_SUITE_END()
