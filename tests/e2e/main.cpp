#define BOOST_TEST_MODULE amo_e2e
#include <boost/test/unit_test.hpp>
