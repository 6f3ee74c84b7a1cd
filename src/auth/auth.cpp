#include "auth/auth.hpp"

#include <strings.h>

#include <ctime>

#include "auth/jwt.hpp"
#include "core/error.hpp"

namespace amo::auth {

std::string require_user(const http::Request& req, const Config& cfg) {
  auto h = req.header("authorization");
  if (!h)
    throw core::Error(core::Fault::kUnauthorized, "Authorization: Bearer <token> is required");
  static const std::string kBearer = "Bearer ";
  if (h->size() <= kBearer.size() || strncasecmp(h->c_str(), "bearer ", 7) != 0)
    throw core::Error(core::Fault::kUnauthorized, "Authorization must use the Bearer scheme");
  try {
    return verify_jwt(std::string_view(*h).substr(kBearer.size()), cfg.jwt_secret,
                      static_cast<int64_t>(std::time(nullptr)));
  } catch (const JwtError& e) {
    throw core::Error(core::Fault::kUnauthorized, std::string("Invalid token: ") + e.what());
  }
}

}  // namespace amo::auth
