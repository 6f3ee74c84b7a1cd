#pragma once

namespace amo {

// `amo-connect <command>`: serve, migrate, refresh-due, rotate-keys, check-config, dev-token,
// connections (list, show, disconnect, refresh).
// Returns the process exit status; prints one clear line on stderr on failure.
int run_cli(int argc, char** argv);

}  // namespace amo
