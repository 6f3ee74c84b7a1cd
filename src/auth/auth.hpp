#pragma once
#include <string>

#include "config/config.hpp"
#include "http/request.hpp"

namespace amo::auth {

// The user id of the request's `Authorization: Bearer <JWT>`; throws ApiError 401.
std::string require_user(const http::Request& req, const Config& cfg);

}  // namespace amo::auth
