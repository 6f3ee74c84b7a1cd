#include "app/cli.hpp"

int main(int argc, char** argv) { return amo::run_cli(argc, argv); }
