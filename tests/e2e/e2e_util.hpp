#pragma once
// Helpers shared by the e2e suites: JSON bodies, simulator counters, connecting a user.
#include <rapidjson/document.h>

#include <boost/test/unit_test.hpp>
#include <string>

#include "http/request.hpp"
#include "support/stack.hpp"

namespace amo::test {

inline rapidjson::Document body_json(const HttpResult& r) {
  rapidjson::Document d;
  d.Parse(r.body.c_str());
  BOOST_REQUIRE_MESSAGE(!d.HasParseError() && d.IsObject(),
                        "not a JSON object: " << r.status << " " << r.body);
  return d;
}

inline std::string error_code(const HttpResult& r) {
  auto d = body_json(r);
  BOOST_REQUIRE_MESSAGE(d.HasMember("success") && d["success"].IsFalse(), r.body);
  return d["error"]["code"].GetString();
}

inline int64_t counter(const Stack& s, const char* name) {
  auto r = http_get(s.sim + "/_sim/counters");
  auto d = body_json(r);
  return d[name].GetInt64();
}

inline void sim_post(const Stack& s, const std::string& path, const std::string& body = "{}") {
  auto r = http("POST", s.sim + path, {"Content-Type: application/json"}, body);
  BOOST_REQUIRE_MESSAGE(r.status == 200, path << " → " << r.status << " " << r.body);
}

struct Grant {
  std::string code, referer;
};

inline Grant issue_code(const Stack& s) {
  auto r = http("POST", s.sim + "/_sim/issue-code", {"Content-Type: application/json"}, "{}");
  auto d = body_json(r);
  return Grant{d["code"].GetString(), d["referer"].GetString()};
}

inline std::string new_state(const Stack& s, const std::string& user) {
  auto r = http_get(s.api("/auth-url"), {s.auth(user)});
  BOOST_REQUIRE_EQUAL(r.status, 200);
  auto d = body_json(r);
  return d["data"]["state"].GetString();
}

inline std::string callback_url(const Stack& s, const std::string& code, const std::string& state,
                                const std::string& referer, int prefix = 1) {
  return s.api("/callback", prefix) + "?code=" + http::url_encode(code) +
         "&state=" + http::url_encode(state) + "&referer=" + http::url_encode(referer) +
         "&client_id=" + http::url_encode(s.env.at("AMO_CLIENT_ID"));
}

// Connects `user` through the real callback; returns the state used.
inline std::string connect_user(const Stack& s, const std::string& user) {
  auto g = issue_code(s);
  auto state = new_state(s, user);
  auto r = http_get(callback_url(s, g.code, state, g.referer));
  BOOST_REQUIRE_MESSAGE(r.status == 200, "callback → " << r.status << "\n" << r.body);
  return state;
}

}  // namespace amo::test
